/**
 * Refuses uploads whose metadata costs far more to read than the upload itself, before libvips' header read.
 *
 * PNG is the real bomb: libpng inflates every zTXt, compressed iTXt and iCCP chunk before the first IDAT in
 * png_read_info (libvips allows 50 MB per chunk), and libvips and sharp copy the text on, so 1 MB of zTXt became
 * gigabytes and seconds of CPU even on /info. Those chunks are inflated here first and never past the budget:
 * small ones at once, large or broken ones on the thread pool. WebP and JPEG metadata is stored raw and only summed.
 * TIFF tags may all point at the same bytes, which libtiff then reads once per tag.
 */
import { createInflate, inflateSync } from 'node:zlib';
import { ImageError } from './errors.js';
import type { Limits } from './limits.js';

/**
 * Text, ICC and EXIF chunks one PNG may carry. Real files have a handful (XMP, a profile, a few tEXt). Each
 * compressed one costs this check an inflate (255 tiny zTXt: 3 ms), so without a cap a flood of them would make
 * the check itself the slow part; libvips is cheaper per chunk (50,000 tEXt took it 35 ms).
 */
export const MAX_PNG_METADATA_CHUNKS = 256;

/** Inflated bytes measured synchronously: real chunks fit (a profile, an XMP packet), and this takes ~0.1 ms at most. */
const SYNC_INFLATE_BYTES = 64 * 1024;
/** Output chunk of the thread-pool inflate: big enough that 8 MB is ~128 round trips, not 512. */
const INFLATE_CHUNK_BYTES = 64 * 1024;

/** Throws PP_METADATA_TOO_LARGE if the image's metadata is over `maxMetadataBytes` (inflated, per image). */
export async function assertSafeMetadata(data: Buffer, limits: Pick<Limits, 'maxMetadataBytes'>): Promise<void> {
  const limit = limits.maxMetadataBytes;
  if (data.subarray(0, 8).equals(PNG_SIGNATURE)) return checkPng(data, limit);
  if (data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP') return checkWebp(data, limit);
  if (data[0] === 0xff && data[1] === 0xd8) return checkJpeg(data, limit);
  if (isTiff(data)) return checkTiff(data, limit);
  // GIF comments and XMP are raw sub-blocks bounded by the upload; AVIF/HEIF metadata items are left to libheif's limits.
}

/** Bytes of metadata read so far against the limit; every refusal names the record and the sizes. */
class MetadataBudget {
  private used = 0;
  private records = 0;

  constructor(
    private readonly format: string,
    private readonly noun: string,
    private readonly limit: number,
    private readonly maxRecords = Number.POSITIVE_INFINITY,
  ) {}

  get left(): number {
    return this.limit - this.used;
  }

  /** Counts one more record and returns its number (1-based). */
  next(): number {
    if (++this.records > this.maxRecords) {
      throw new ImageError('PP_METADATA_TOO_LARGE', `${this.format} has more than ${this.maxRecords} metadata ${this.noun}s (text, ICC profile, EXIF)`);
    }
    return this.records;
  }

  /** `size` bytes of record `index` of `type`, as stored (raw). */
  addRaw(type: string, index: number, size: number): void {
    if (size > this.left) this.refuse(`${type} ${this.noun} ${index} holds ${size} bytes${this.earlier()}`);
    this.used += size;
  }

  /**
   * A compressed record: `header` bytes stored as they are, then text or a profile that inflated to `inflated` bytes
   * when measured with a cap of `left - header` (so anything above the cap only means "more than").
   */
  addInflated(type: string, index: number, stored: number, header: number, inflated: number): void {
    if (header + inflated > this.left) this.refuse(`${type} ${this.noun} ${index} of ${stored} bytes inflates to more than ${this.left} bytes${this.earlier()}`);
    this.used += header + inflated;
  }

  refuse(what: string): never {
    throw new ImageError('PP_METADATA_TOO_LARGE', `${this.format} metadata is over the limit of ${this.limit} bytes: ${what}`);
  }

  private earlier(): string {
    return this.used > 0 ? `, after ${this.used} bytes in earlier ${this.noun}s` : '';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PNG

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** PNG lengths are 31-bit; libpng refuses anything larger, so the walk stops there and leaves the error to it. */
const PNG_MAX_LENGTH = 0x7fffffff;
/** Chunk types as big-endian integers: comparing them beats decoding a string per chunk of a 10 MB IDAT stream. */
const chunkType = (name: string): number => Buffer.from(name, 'latin1').readUInt32BE(0);
const IEND = chunkType('IEND');
const RAW_CHUNKS = new Map([chunkType('tEXt'), chunkType('eXIf')].map((code) => [code, typeName(code)]));
const COMPRESSED_CHUNKS = new Map([chunkType('zTXt'), chunkType('iCCP'), chunkType('iTXt')].map((code) => [code, typeName(code) as CompressedType]));
type CompressedType = 'zTXt' | 'iCCP' | 'iTXt';

function typeName(code: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(code);
  return bytes.toString('latin1');
}

/** libpng's keyword limit: a longer (or empty) keyword is refused before the text is inflated. */
const PNG_MAX_KEYWORD = 79;

async function checkPng(data: Buffer, limit: number): Promise<void> {
  const budget = new MetadataBudget('PNG', 'chunk', limit, MAX_PNG_METADATA_CHUNKS);
  // Truncated or corrupt tables end the walk quietly: libvips refuses those files itself, and reads no further than we do.
  for (let at = 8; at + 8 <= data.length; ) {
    const length = data.readUInt32BE(at);
    const code = data.readUInt32BE(at + 4);
    const start = at + 8;
    const end = start + length;
    if (length > PNG_MAX_LENGTH || end + 4 > data.length || code === IEND) return;
    at = end + 4;
    // CRCs are not checked (a bad one only makes this stricter). Chunks after IDAT count too: libvips with libpng
    // never reads them, but libspng (which a system libvips may use) does once the last row is decoded.
    const raw = RAW_CHUNKS.get(code);
    const type = COMPRESSED_CHUNKS.get(code);
    if (raw) {
      budget.addRaw(raw, budget.next(), length);
    } else if (type) {
      const index = budget.next();
      const chunk = data.subarray(start, end);
      const stream = compressedPart(type, chunk);
      if (!stream) {
        budget.addRaw(type, index, length);
        continue;
      }
      const header = length - stream.length;
      budget.addInflated(type, index, length, header, await inflatedSize(stream, Math.max(0, budget.left - header)));
    }
  }
}

/** The zlib stream of a zTXt, iCCP or compressed iTXt chunk, or undefined where libpng stores or refuses it as is. */
function compressedPart(type: CompressedType, chunk: Buffer): Buffer | undefined {
  const keywordEnd = chunk.subarray(0, PNG_MAX_KEYWORD + 1).indexOf(0);
  if (keywordEnd < 1) return undefined;
  if (type !== 'iTXt') return chunk[keywordEnd + 1] === 0 ? chunk.subarray(keywordEnd + 2) : undefined;
  // iTXt: compression flag, method, language tag NUL, translated keyword NUL, text.
  if (chunk[keywordEnd + 1] !== 1 || chunk[keywordEnd + 2] !== 0) return undefined;
  const languageEnd = chunk.indexOf(0, keywordEnd + 3);
  const translatedEnd = languageEnd < 0 ? -1 : chunk.indexOf(0, languageEnd + 1);
  return translatedEnd < 0 ? undefined : chunk.subarray(translatedEnd + 1);
}

/**
 * Bytes `stream` inflates to, or anything above `cap` once it passes it. Real text and profiles are small and are
 * inflated here and now (tens of microseconds); a stream that goes past SYNC_INFLATE_BYTES, or breaks, is measured
 * on the thread pool instead, since even capped at 8 MB a synchronous inflate held the event loop for 30-45 ms.
 */
async function inflatedSize(stream: Buffer, cap: number): Promise<number> {
  const quick = Math.min(cap, SYNC_INFLATE_BYTES);
  try {
    return inflateSync(stream, { maxOutputLength: Math.max(1, quick) }).length;
  } catch (err) {
    // Past the quick cap: if that was the whole budget, it is over; otherwise measure it properly.
    if (err instanceof RangeError && quick === cap) return cap + 1;
  }
  return inflatedSizeOffThread(stream, cap);
}

/**
 * The same, streamed on the thread pool. Counts what came out before a corrupt or truncated end too: libpng
 * inflates that much before it finds the fault (50 such 20 MB streams cost it 160 ms of CPU).
 */
function inflatedSizeOffThread(stream: Buffer, cap: number): Promise<number> {
  return new Promise((resolve) => {
    const inflate = createInflate({ chunkSize: INFLATE_CHUNK_BYTES });
    let size = 0;
    const finish = (): void => {
      inflate.destroy();
      resolve(size);
    };
    inflate.on('data', (out: Buffer) => {
      size += out.length;
      if (size > cap) finish();
    });
    inflate.on('end', finish);
    inflate.on('error', () => {
      // Node drops the output of the write that met the fault: count it as a whole chunk.
      size += INFLATE_CHUNK_BYTES;
      finish();
    });
    inflate.end(stream);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// WebP and JPEG: raw metadata, summed

/** RIFF chunks libwebp's demuxer hands libvips, which copies each into the image's metadata. */
const WEBP_METADATA = new Set(['ICCP', 'EXIF', 'XMP ']);

function checkWebp(data: Buffer, limit: number): void {
  const budget = new MetadataBudget('WebP', 'chunk', limit);
  for (let at = 12; at + 8 <= data.length; ) {
    const type = data.toString('latin1', at, at + 4);
    const size = data.readUInt32LE(at + 4);
    const end = at + 8 + size;
    if (end > data.length) return;
    if (WEBP_METADATA.has(type)) budget.addRaw(type.trim(), budget.next(), size);
    at = end + (size & 1); // chunks are padded to an even length
  }
}

function checkJpeg(data: Buffer, limit: number): void {
  // No count limit: each segment is at most 64 KB and costs libjpeg one small allocation, so bytes are what matter.
  const budget = new MetadataBudget('JPEG', 'segment', limit);
  for (let at = 2; at + 4 <= data.length; ) {
    if (data[at] !== 0xff) return; // not a marker: corrupt, libjpeg's to refuse
    const marker = data[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    // Markers without a length: TEM, RSTn, SOI.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      at += 2;
      continue;
    }
    // libvips keeps the markers read before the first scan; EOI ends the image.
    if (marker === 0xda || marker === 0xd9) return;
    const length = data.readUInt16BE(at + 2);
    const end = at + 2 + length;
    if (length < 2 || end > data.length) return;
    const isApp = marker >= 0xe0 && marker <= 0xef;
    if (isApp || marker === 0xfe) budget.addRaw(isApp ? `APP${marker - 0xe0}` : 'COM', budget.next(), length - 2);
    at = end;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// TIFF: the first directory's tags, which libtiff reads whole when libvips opens page 0

/** Tags libvips attaches as metadata: XMP, IPTC, Photoshop resources, ICC profile. */
const TIFF_METADATA_TAGS = new Map([
  [700, 'XMP'],
  [33723, 'IPTC'],
  [34377, 'Photoshop'],
  [34675, 'ICC'],
]);

/** Bytes per value of each TIFF field type (1-18, BigTIFF's included); unknown types are skipped by libtiff. */
const TIFF_TYPE_SIZES = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8] as const;

function isTiff(data: Buffer): boolean {
  const order = data.toString('latin1', 0, 2);
  if ((order !== 'II' && order !== 'MM') || data.length < 16) return false;
  const magic = order === 'II' ? data.readUInt16LE(2) : data.readUInt16BE(2);
  return magic === 42 || magic === 43;
}

function checkTiff(data: Buffer, limit: number): void {
  const little = data[0] === 0x49;
  const u16 = (at: number): number => (little ? data.readUInt16LE(at) : data.readUInt16BE(at));
  const u32 = (at: number): number => (little ? data.readUInt32LE(at) : data.readUInt32BE(at));
  const u64 = (at: number): number => Number(little ? data.readBigUInt64LE(at) : data.readBigUInt64BE(at));
  const big = u16(2) === 43;
  const ifd = big ? u64(8) : u32(4);
  const entrySize = big ? 20 : 12;
  const inline = big ? 8 : 4;
  const countSize = big ? 8 : 2;
  if (ifd + countSize > data.length) return;
  const entries = big ? u64(ifd) : u16(ifd);
  if (ifd + countSize + entries * entrySize > data.length) return; // truncated directory: libtiff's to refuse

  const budget = new MetadataBudget('TIFF', 'tag', limit);
  // Out-of-line tag data libtiff will read; tags may share one offset, and libtiff reads it once for each.
  let read = 0;
  for (let i = 0; i < entries; i++) {
    const at = ifd + countSize + i * entrySize;
    const tag = u16(at);
    const size = (big ? u64(at + 4) : u32(at + 4)) * (TIFF_TYPE_SIZES[u16(at + 2)] ?? 0);
    if (size <= inline) continue;
    const offset = big ? u64(at + 12) : u32(at + 8);
    if (offset + size > data.length) continue; // libtiff cannot read past the end, so it costs nothing
    read += size;
    const name = TIFF_METADATA_TAGS.get(tag);
    if (name) budget.addRaw(name, budget.next(), size);
  }
  // Honest files store each tag's data once, so what the tags point at fits in the file itself.
  if (read > data.length + limit) {
    budget.refuse(`its first directory's tags point at ${read} bytes of a ${data.length}-byte file (the same bytes over and over)`);
  }
}
