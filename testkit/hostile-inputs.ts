/**
 * Hostile inputs and a seeded mutation fuzzer, built entirely in memory (no checked-in binaries).
 *
 * Used by test/http/hostile.test.ts, test/http/fuzz.test.ts and scripts/fuzz.ts; nothing here imports the code under
 * test, so a stress script can reuse the generators against a running server as well.
 *
 * Shapes:
 * - `HostileInput`: a body plus what the service must answer. `hostileImages()` are image payloads, sent both as the
 *   multipart file (field img, with `filename` and `contentType` on the part) and as the raw body (`contentType` as
 *   the request's Content-Type). `hostileRequests()` are whole request bodies sent as they are, `contentType`
 *   being the request's Content-Type (multipart boundary included).
 * - The fuzzer: `fuzzBases()` makes a few real images, `fuzzCase(bases, seed, index)` mutates one of them
 *   deterministically, `fuzzRoutes` says where it is sent and `checkFuzzAnswer` what a correct answer is.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { photo } from './images.js';
import { prng } from './prng.js';

// ---------------------------------------------------------------------------------------------------------------
// Expectations

export interface Expectation {
  /** The one acceptable status. */
  status?: number;
  /** Any of these statuses is acceptable (e.g. 200 or 422 for a bit-flipped JPEG that may still decode). */
  statuses?: readonly number[];
  /** The problem+json `code` when the answer is an error. */
  code?: string;
  /** When 200 is acceptable: the output must be one flat colour (nothing from a file or URL was rendered). */
  blank?: boolean;
  /** When 200 is acceptable: the input's own MIME type (routes that keep the format answer with it). */
  mime?: string;
  /** Milliseconds within which the answer must arrive. */
  withinMs?: number;
  /**
   * What the README promises, when that is stricter than the safety bar above (e.g. an SVG with entities is
   * documented as 415 PP_UNSAFE_SVG; any 4xx is safe). Checked as a separate test, so a wrong code is not confused
   * with a security failure.
   */
  documented?: { status: number; code: string };
}

export interface HostileInput {
  name: string;
  body: Buffer;
  /** Raw body: the request Content-Type. Multipart: the part's Content-Type (request bodies: the request's). */
  contentType?: string;
  /** Multipart filename for image payloads. */
  filename?: string;
  expect: Expectation;
}

export function acceptableStatuses(expect: Expectation): readonly number[] {
  if (expect.statuses) return expect.statuses;
  if (expect.status !== undefined) return [expect.status];
  throw new Error('an expectation needs status or statuses');
}

/** Default bound on how long any hostile answer may take. Generous: the point is "not minutes, not never". */
export const DEFAULT_WITHIN_MS = 10_000;

// ---------------------------------------------------------------------------------------------------------------
// Seeded randomness

export { prng };

export function seededBytes(length: number, seed: number): Buffer {
  const next = prng(seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// CRC32 (Node 20 has no zlib.crc32) and PNG chunks

const crcTable: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as PNG uses); crc32("123456789") is 0xcbf43926. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

function ihdr(width: number, height: number, colourType = 2): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = 8; // bit depth
  data[9] = colourType; // 2 = RGB
  return data; // compression, filter and interlace methods 0
}

/** A PNG whose IHDR declares width x height over a tiny IDAT: valid header and CRCs, nowhere near enough pixels. */
export function pngClaiming(width: number, height: number): Buffer {
  const idat = zlib.deflateSync(Buffer.alloc(64));
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr(width, height)), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * A complete, valid RGB PNG of one flat colour. Built by hand (first row filter None, every other row filter Up, so
 * all-zero; deflated with Z_RLE) because that takes well under a second where sharp's encoder takes several for
 * 400 MP. 20000x20000 comes to about 1.2 MB: the classic decompression bomb.
 */
export async function flatPng(width: number, height: number, rgb: readonly [number, number, number]): Promise<Buffer> {
  const stride = width * 3 + 1;
  const first = Buffer.alloc(stride);
  for (let x = 0; x < width; x++) first.set(rgb, 1 + x * 3);
  const rowsPerBlock = 64;
  const block = Buffer.alloc(stride * rowsPerBlock);
  for (let row = 0; row < rowsPerBlock; row++) block[row * stride] = 2; // filter Up: same as the row above
  const deflate = zlib.createDeflate({ level: 9, strategy: zlib.constants.Z_RLE });
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  deflate.write(first);
  for (let left = height - 1; left > 0; left -= rowsPerBlock) {
    const rows = Math.min(left, rowsPerBlock);
    if (!deflate.write(rows === rowsPerBlock ? block : block.subarray(0, rows * stride))) {
      await new Promise((resolve) => deflate.once('drain', resolve));
    }
  }
  deflate.end();
  await done;
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr(width, height)), pngChunk('IDAT', Buffer.concat(out)), pngChunk('IEND', Buffer.alloc(0))]);
}

// ---------------------------------------------------------------------------------------------------------------
// JPEG segments

export interface JpegSegment {
  /** The marker byte after 0xFF (0xC0 is SOF0, 0xDA is SOS, ...). */
  marker: number;
  /** Offset of the 0xFF that starts the marker. */
  offset: number;
  /** The segment's length field (covers itself and the payload, not the marker). */
  length: number;
}

/** Marker segments from SOI up to and including the first SOS. */
export function jpegSegments(jpeg: Buffer): JpegSegment[] {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG');
  const segments: JpegSegment[] = [];
  let i = 2;
  while (i + 4 <= jpeg.length) {
    if (jpeg[i] !== 0xff) throw new Error(`expected a marker at ${i}`);
    while (jpeg[i + 1] === 0xff) i++; // fill bytes
    const marker = jpeg[i + 1]!;
    const length = jpeg.readUInt16BE(i + 2);
    segments.push({ marker, offset: i, length });
    if (marker === 0xda) break;
    i += 2 + length;
  }
  return segments;
}

/** The SOF segment (baseline, extended or progressive). */
export function jpegSof(jpeg: Buffer): JpegSegment {
  const sof = jpegSegments(jpeg).find((segment) => segment.marker >= 0xc0 && segment.marker <= 0xc2);
  if (!sof) throw new Error('no SOF segment');
  return sof;
}

/** Where the entropy-coded data of the first scan starts and where the EOI marker is. */
export function jpegScan(jpeg: Buffer): { start: number; end: number } {
  const sos = jpegSegments(jpeg).at(-1)!;
  if (sos.marker !== 0xda) throw new Error('no SOS segment');
  const end = jpeg.lastIndexOf(Buffer.from([0xff, 0xd9]));
  return { start: sos.offset + 2 + sos.length, end };
}

/** A copy of `jpeg` whose SOF header declares width x height. */
export function jpegClaiming(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  const sof = jpegSof(out);
  // SOF payload: length(2) precision(1) height(2) width(2) components(1) ...
  out.writeUInt16BE(height, sof.offset + 5);
  out.writeUInt16BE(width, sof.offset + 7);
  return out;
}

/** Insert a COM segment right after SOI. */
export function jpegWithComment(jpeg: Buffer, comment: string): Buffer {
  const text = Buffer.from(comment, 'latin1');
  const header = Buffer.from([0xff, 0xfe, 0, 0]);
  header.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), header, text, jpeg.subarray(2)]);
}

/** Flip `count` bits in the entropy-coded data (never in the headers), seeded. */
export function jpegBitFlipped(jpeg: Buffer, count: number, seed: number): Buffer {
  const out = Buffer.from(jpeg);
  const { start, end } = jpegScan(out);
  const next = prng(seed);
  for (let i = 0; i < count; i++) {
    const at = start + Math.floor(next() * (end - start));
    out[at]! ^= 1 << Math.floor(next() * 8);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// GIF, by hand

/** LZW-"compress" palette indices (< 4) with a clear code before every pixel: valid, uncompressed, no code growth. */
function gifLzw(indices: readonly number[]): Buffer {
  const clear = 4;
  const end = 5;
  const codes: number[] = [];
  for (const index of indices) codes.push(clear, index);
  codes.push(end);
  const bytes: number[] = [];
  let bits = 0;
  let bitCount = 0;
  for (const code of codes) {
    bits |= code << bitCount;
    bitCount += 3;
    while (bitCount >= 8) {
      bytes.push(bits & 0xff);
      bits >>>= 8;
      bitCount -= 8;
    }
  }
  if (bitCount > 0) bytes.push(bits & 0xff);
  return Buffer.from(bytes);
}

function subBlocks(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += 255) {
    const piece = data.subarray(i, i + 255);
    parts.push(Buffer.from([piece.length]), piece);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export interface GifOptions {
  /** Up to four colours. */
  palette?: readonly (readonly [number, number, number])[];
  /** Centiseconds per frame. */
  delay?: number;
  /** A comment extension before the first frame. */
  comment?: string;
}

/** An animated GIF89a from frames of palette indices (each width*height long, values 0-3). */
export function buildGif(width: number, height: number, frames: readonly (readonly number[])[], options: GifOptions = {}): Buffer {
  const palette = options.palette ?? [[0, 0, 0], [255, 255, 255], [220, 40, 40], [40, 40, 220]];
  const parts: Buffer[] = [Buffer.from('GIF89a', 'latin1')];
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(width, 0);
  screen.writeUInt16LE(height, 2);
  screen[4] = 0x80 | (1 << 4) | 1; // global colour table of 4 entries, colour resolution 2 bits
  parts.push(screen);
  const table = Buffer.alloc(12);
  palette.slice(0, 4).forEach((rgb, i) => table.set(rgb, i * 3));
  parts.push(table);
  if (frames.length > 1) {
    // NETSCAPE2.0: loop forever.
    parts.push(Buffer.from([0x21, 0xff, 0x0b]), Buffer.from('NETSCAPE2.0', 'latin1'), Buffer.from([0x03, 0x01, 0x00, 0x00, 0x00]));
  }
  if (options.comment !== undefined) parts.push(Buffer.from([0x21, 0xfe]), subBlocks(Buffer.from(options.comment, 'latin1')));
  for (const frame of frames) {
    const control = Buffer.from([0x21, 0xf9, 0x04, 0x04, 0, 0, 0, 0]);
    control.writeUInt16LE(options.delay ?? 2, 4);
    const descriptor = Buffer.alloc(10);
    descriptor[0] = 0x2c;
    descriptor.writeUInt16LE(width, 5);
    descriptor.writeUInt16LE(height, 7);
    parts.push(control, descriptor, Buffer.from([2]), subBlocks(gifLzw(frame)));
  }
  parts.push(Buffer.from([0x3b]));
  return Buffer.concat(parts);
}

/** `count` frames of 2x2, each different from the one before (so no encoder could merge them). */
export function manyFrameGif(count: number): Buffer {
  const frames: number[][] = [];
  for (let i = 0; i < count; i++) frames.push([i % 4, (i + 1) % 4, (i + 2) % 4, (i + 3) % 4]);
  return buildGif(2, 2, frames);
}

// ---------------------------------------------------------------------------------------------------------------
// Multipart bodies, by hand (full control over boundaries, part headers and how many files)

export interface FormPart {
  name: string;
  data: Buffer | string;
  filename?: string;
  contentType?: string;
}

export const BOUNDARY = 'pixelpress-hostile-4f9c2a71';

export function buildMultipart(parts: readonly FormPart[], boundary = BOUNDARY): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.contentType !== undefined) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, 'latin1'), Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

// ---------------------------------------------------------------------------------------------------------------
// SVGs

const SVG_NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"';

export const svgs = {
  /** XXE: an external entity pointing at /etc/passwd, used in visible text. */
  externalEntity: () =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n` +
    `<svg ${SVG_NS} width="400" height="200"><text x="4" y="20" font-size="14" fill="#000">&x;</text></svg>`,
  /** librsvg's XInclude, as text: the route of CVE-2023-38633. */
  xinclude: () =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<svg ${SVG_NS} xmlns:xi="http://www.w3.org/2001/XInclude" width="400" height="200">` +
    `<text x="4" y="20" font-size="14" fill="#000"><xi:include href="file:///etc/passwd" parse="text"/></text></svg>`,
  /** An <image> reading a local file. */
  fileImage: (url: string) =>
    `<svg ${SVG_NS} width="64" height="64"><image x="0" y="0" width="64" height="64" href="${url}" xlink:href="${url}"/></svg>`,
  /** An <image> fetching from the network (SSRF). */
  remoteImage: (url: string) =>
    `<svg ${SVG_NS} width="64" height="64"><image x="0" y="0" width="64" height="64" href="${url}" xlink:href="${url}"/></svg>`,
  /** Billion laughs: 10^9 "lol"s from under 1 KB. */
  billionLaughs: () => {
    const entities = ['<!ENTITY lol "lol">'];
    for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
    return (
      `<?xml version="1.0"?>\n<!DOCTYPE svg [\n${entities.join('\n')}\n]>\n` +
      `<svg ${SVG_NS} width="200" height="50"><text x="0" y="20" font-size="10">&lol9;</text></svg>`
    );
  },
  /** An external image hidden from a text scan by a CSS escape (u\72 l is url); CSS reads it as url(). */
  cssEscapedUrl: (url: string) =>
    `<svg ${SVG_NS} width="64" height="64"><rect width="64" height="64" style="fill: u\\72 l('${url}')"/></svg>`,
  /** A 200000x200000 canvas: 40 GP declared in a few bytes. */
  hugeCanvas: () => `<svg ${SVG_NS} width="200000" height="200000"><rect width="100%" height="100%" fill="#c00"/></svg>`,
};

/** Any 4xx a refusal might reasonably use. */
export const clientErrors: readonly number[] = [400, 413, 415, 422];

/** An svgz whose XML holds a comment of `megabytes` MB of spaces: ~1000:1, so 300 MB is ~300 KB on the wire. */
export async function svgzBomb(megabytes: number): Promise<Buffer> {
  const gzip = zlib.createGzip({ level: 9, strategy: zlib.constants.Z_RLE });
  const out: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    gzip.on('end', resolve);
    gzip.on('error', reject);
  });
  gzip.write(`<svg ${SVG_NS} width="64" height="64"><!--`);
  const spaces = Buffer.alloc(1 << 20, 0x20);
  for (let i = 0; i < megabytes; i++) {
    if (!gzip.write(spaces)) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  gzip.end('--><rect width="64" height="64" fill="#c00"/></svg>');
  await done;
  return Buffer.concat(out);
}

/** A real PNG on this machine (shipped with a dependency), for an SVG that tries to embed a local file. */
export function localPngPath(): string | undefined {
  const candidate = fileURLToPath(new URL('../node_modules/@fastify/swagger-ui/static/favicon-32x32.png', import.meta.url));
  return existsSync(candidate) ? candidate : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The hostile images

export interface HostileImageOptions {
  /** Where the SSRF SVG points; a test can pass a canary listener's URL to prove nothing connects. */
  ssrfUrl?: string;
}

/**
 * Image payloads that must never get a 5xx. Each is sent as the multipart file (field img) and as the raw body.
 * Pixel-limit expectations assume the default limits (50 MP input).
 */
export async function hostileImages(options: HostileImageOptions = {}): Promise<HostileInput[]> {
  const jpeg = await photo(320, 240);
  const svg = (name: string, text: string | Buffer, expect: Expectation): HostileInput => ({
    name,
    body: Buffer.isBuffer(text) ? text : Buffer.from(text),
    contentType: 'image/svg+xml',
    filename: 'x.svg',
    expect,
  });
  // An SVG that reaches for something outside itself: refused (4xx), or rendered without it (one flat colour).
  const noLeak: Expectation = {
    statuses: [200, ...clientErrors],
    blank: true,
    mime: 'image/png',
    documented: { status: 415, code: 'PP_UNSAFE_SVG' },
  };
  const localPng = localPngPath();

  const bomb = await flatPng(20000, 20000, [0x40, 0x80, 0xc0]);
  const inputs: HostileInput[] = [
    { name: 'empty body', body: Buffer.alloc(0), contentType: 'application/octet-stream', filename: 'empty.jpg', expect: { status: 400, code: 'PP_MISSING_FILE' } },
    { name: '1 KiB of random bytes', body: seededBytes(1024, 0xbadf00d), contentType: 'application/octet-stream', filename: 'noise.bin', expect: { status: 415, code: 'PP_UNSUPPORTED_MEDIA' } },
    {
      name: 'HTML sent as x.png (image/png)',
      body: Buffer.from('<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(document.domain)</script></body></html>'),
      contentType: 'image/png',
      filename: 'x.png',
      expect: { status: 415, code: 'PP_UNSUPPORTED_MEDIA' },
    },
    { name: 'truncated JPEG (first 40%)', body: jpeg.subarray(0, Math.floor(jpeg.length * 0.4)), contentType: 'image/jpeg', filename: 'cut.jpg', expect: { status: 422, code: 'PP_UNDECODABLE' } },
    {
      name: 'bit-flipped JPEG (entropy-coded data)',
      body: jpegBitFlipped(jpeg, 24, 0xf11b),
      contentType: 'image/jpeg',
      filename: 'flipped.jpg',
      expect: { statuses: [200, 422], mime: 'image/jpeg' },
    },
    { name: 'PNG whose IHDR claims 100000x100000', body: pngClaiming(100_000, 100_000), contentType: 'image/png', filename: 'claim.png', expect: { status: 413, code: 'PP_TOO_MANY_PIXELS' } },
    { name: `valid 20000x20000 PNG in ${(bomb.length / 1e6).toFixed(1)} MB`, body: bomb, contentType: 'image/png', filename: 'bomb.png', expect: { status: 413, code: 'PP_TOO_MANY_PIXELS' } },
    { name: 'JPEG whose SOF claims 65500x65500', body: jpegClaiming(jpeg, 65500, 65500), contentType: 'image/jpeg', filename: 'claim.jpg', expect: { status: 413, code: 'PP_TOO_MANY_PIXELS' } },
    // Just under the 50 MP limit, declared by a few KB: must fail fast on the missing data, not decode 49 MP of grey.
    { name: 'JPEG whose SOF claims 7000x7000 (49 MP, under the limit) over a 14 KB photo', body: jpegClaiming(jpeg, 7000, 7000), contentType: 'image/jpeg', filename: 'under.jpg', expect: { status: 422, code: 'PP_UNDECODABLE', withinMs: 2000 } },
    { name: 'PNG whose IHDR claims 7000x7000 (49 MP, under the limit) over a 64-byte IDAT', body: pngClaiming(7000, 7000), contentType: 'image/png', filename: 'under.png', expect: { status: 422, code: 'PP_UNDECODABLE', withinMs: 2000 } },
    {
      name: 'GIF with 3000 frames of 2x2',
      body: manyFrameGif(3000),
      contentType: 'image/gif',
      filename: 'frames.gif',
      expect: { statuses: [200, ...clientErrors], mime: 'image/gif', withinMs: 10_000 },
    },
    svg('SVG with an external entity (file:///etc/passwd)', svgs.externalEntity(), noLeak),
    svg('SVG with XInclude of file:///etc/passwd as text', svgs.xinclude(), noLeak),
    svg('SVG <image href="file:///etc/passwd">', svgs.fileImage('file:///etc/passwd'), noLeak),
    svg('SVG <image href="http://127.0.0.1:…/x.png"> (SSRF)', svgs.remoteImage(options.ssrfUrl ?? 'http://127.0.0.1:9/x.png'), noLeak),
    svg('SVG entity expansion (billion laughs)', svgs.billionLaughs(), {
      statuses: [200, ...clientErrors],
      mime: 'image/png',
      documented: { status: 415, code: 'PP_UNSAFE_SVG' },
    }),
    // A real local PNG when there is one, so a 200 that rendered it could not pass as blank.
    svg('gzip-compressed SVG (svgz) with <image> of a local file', zlib.gzipSync(svgs.fileImage(`file://${localPng ?? '/etc/passwd'}`)), noLeak),
    svg('SVG with a CSS-escaped url(file:///etc/passwd)', svgs.cssEscapedUrl('file:///etc/passwd'), noLeak),
    svg('gzip-compressed SVG (svgz) holding a 300 MB comment', await svgzBomb(300), { statuses: clientErrors }),
    svg('SVG with a 200000x200000 canvas', svgs.hugeCanvas(), { status: 413, code: 'PP_TOO_MANY_PIXELS' }),
    {
      name: 'polyglot: JPEG with <script> in a COM segment',
      body: jpegWithComment(jpeg, '*/=1;<html><body><script>alert(document.domain)</script></body></html><!--'),
      contentType: 'image/jpeg',
      filename: 'polyglot.jpg',
      expect: { status: 200, mime: 'image/jpeg' },
    },
    {
      name: 'polyglot: GIF with HTML in a comment extension',
      body: buildGif(4, 4, [[0, 1, 2, 3, 1, 2, 3, 0, 2, 3, 0, 1, 3, 0, 1, 2]], { comment: '<html><script>alert(document.domain)</script></html>' }),
      contentType: 'image/gif',
      filename: 'polyglot.gif',
      expect: { status: 200, mime: 'image/gif' },
    },
  ];
  if (localPng) {
    inputs.splice(inputs.findIndex((input) => input.name.startsWith('SVG entity')), 0, svg('SVG <image> of a real local PNG (file://…/favicon-32x32.png)', svgs.fileImage(`file://${localPng}`), noLeak));
  }
  return inputs;
}

/** Whole request bodies with their Content-Type: multipart structure and request-type abuse. */
export async function hostileRequests(): Promise<HostileInput[]> {
  const jpeg = await photo(64, 48);
  const file = (name: string): FormPart => ({ name, data: jpeg, filename: 'a.jpg', contentType: 'image/jpeg' });
  const good = buildMultipart([file('img')]);
  const request = (name: string, form: { body: Buffer; contentType: string }, expect: Expectation): HostileInput => ({ name, ...form, expect });
  const mismatched = buildMultipart([file('img')], 'the-body-uses-this-boundary');
  return [
    request('multipart with no file part (text field only)', buildMultipart([{ name: 'note', data: 'hello' }]), { status: 400, code: 'PP_MISSING_FILE' }),
    request('multipart with no parts at all', buildMultipart([]), { status: 400, code: 'PP_MISSING_FILE' }),
    request('multipart with two files in img', buildMultipart([file('img'), file('img')]), { status: 400, code: 'PP_BAD_REQUEST' }),
    request('multipart with files in img and image', buildMultipart([file('img'), file('image')]), { status: 400, code: 'PP_BAD_REQUEST' }),
    request('multipart with files in file and img, text field between', buildMultipart([file('file'), { name: 'note', data: 'x' }, file('img')]), { status: 400, code: 'PP_BAD_REQUEST' }),
    request('multipart with the file in the wrong field (upload)', buildMultipart([file('upload')]), { status: 400, code: 'PP_MISSING_FILE' }),
    request('multipart body truncated mid-file', { body: good.body.subarray(0, Math.floor(good.body.length * 0.6)), contentType: good.contentType }, { status: 400, code: 'PP_BAD_REQUEST' }),
    request('multipart body truncated before the closing boundary', { body: good.body.subarray(0, good.body.length - 10), contentType: good.contentType }, { status: 400, code: 'PP_BAD_REQUEST' }),
    request('multipart Content-Type boundary that does not match the body', { body: mismatched.body, contentType: `multipart/form-data; boundary=${BOUNDARY}` }, { status: 400, code: 'PP_BAD_REQUEST' }),
    request('multipart Content-Type without a boundary', { body: good.body, contentType: 'multipart/form-data' }, { status: 400, code: 'PP_BAD_REQUEST' }),
    request('application/json with JSON', { body: Buffer.from(JSON.stringify({ image: 'data:image/png;base64,AAAA' })), contentType: 'application/json' }, { status: 415, code: 'PP_UNSUPPORTED_MEDIA' }),
    request('text/plain with text', { body: Buffer.from('just some text, not an image\n'), contentType: 'text/plain' }, { status: 415, code: 'PP_UNSUPPORTED_MEDIA' }),
    request('application/x-www-form-urlencoded', { body: Buffer.from('img=%FF%D8%FF%E0'), contentType: 'application/x-www-form-urlencoded' }, { status: 415, code: 'PP_UNSUPPORTED_MEDIA' }),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Checking a decoded answer

/** Largest per-channel spread (max - min) of the image flattened on white: 0 for one flat colour. */
export async function colourSpread(image: Buffer): Promise<number> {
  const { data, info } = await sharp(image).flatten({ background: '#ffffff' }).raw().toBuffer({ resolveWithObject: true });
  let spread = 0;
  for (let c = 0; c < info.channels; c++) {
    let min = 255;
    let max = 0;
    for (let i = c; i < data.length; i += info.channels) {
      const v = data[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    spread = Math.max(spread, max - min);
  }
  return spread;
}

// ---------------------------------------------------------------------------------------------------------------
// The mutation fuzzer

export type FuzzFormat = 'jpeg' | 'png' | 'webp' | 'gif';

export interface FuzzBase {
  name: string;
  format: FuzzFormat;
  data: Buffer;
}

/** A few real images, small so each request is quick: every lossy/lossless codec path the routes read. */
export async function fuzzBases(): Promise<FuzzBase[]> {
  const png = await photo(48, 32, 'png');
  const rgba = await sharp(png).ensureAlpha(0.6).png().toBuffer();
  const animated = await sharp([png, await sharp(png).flip().toBuffer(), await sharp(png).flop().toBuffer()], { join: { animated: true } }).gif().toBuffer();
  return [
    { name: 'jpeg', format: 'jpeg', data: await photo(48, 32) },
    { name: 'jpeg-progressive', format: 'jpeg', data: await sharp(png).jpeg({ progressive: true, quality: 80 }).toBuffer() },
    { name: 'png-rgb', format: 'png', data: png },
    { name: 'png-rgba-interlaced', format: 'png', data: await sharp(rgba).png({ progressive: true }).toBuffer() },
    { name: 'webp-lossy', format: 'webp', data: await photo(48, 32, 'webp') },
    { name: 'webp-lossless-alpha', format: 'webp', data: await sharp(rgba).webp({ lossless: true }).toBuffer() },
    { name: 'gif', format: 'gif', data: await sharp(png).gif().toBuffer() },
    { name: 'gif-animated', format: 'gif', data: animated },
  ];
}

/** A byte range that holds a header field worth overwriting. */
interface Field {
  what: string;
  offset: number;
  size: 1 | 2 | 4;
  littleEndian: boolean;
}

function headerFields(base: FuzzBase): Field[] {
  const data = base.data;
  const fields: Field[] = [];
  const be = (what: string, offset: number, size: 1 | 2 | 4) => fields.push({ what, offset, size, littleEndian: false });
  const le = (what: string, offset: number, size: 1 | 2 | 4) => fields.push({ what, offset, size, littleEndian: true });
  if (base.format === 'png') {
    be('IHDR.width', 16, 4);
    be('IHDR.height', 20, 4);
    be('IHDR.depth', 24, 1);
    be('IHDR.colourType', 25, 1);
    be('IHDR.interlace', 28, 1);
    be('IHDR.length', 8, 4);
    // Every chunk's length field.
    for (let i = 8; i + 8 <= data.length; ) {
      be(`chunk@${i}.length`, i, 4);
      i += 12 + data.readUInt32BE(i);
    }
  } else if (base.format === 'jpeg') {
    for (const segment of jpegSegments(data)) {
      be(`marker${segment.marker.toString(16)}@${segment.offset}.length`, segment.offset + 2, 2);
      if (segment.marker >= 0xc0 && segment.marker <= 0xc2) {
        be('SOF.precision', segment.offset + 4, 1);
        be('SOF.height', segment.offset + 5, 2);
        be('SOF.width', segment.offset + 7, 2);
        be('SOF.components', segment.offset + 9, 1);
        be('SOF.sampling0', segment.offset + 11, 1);
        be('SOF.table0', segment.offset + 12, 1);
      }
      if (segment.marker === 0xda) {
        be('SOS.components', segment.offset + 4, 1);
        be('SOS.table0', segment.offset + 6, 1);
        be('SOS.spectralStart', segment.offset + 2 + segment.length - 3, 1);
        be('SOS.spectralEnd', segment.offset + 2 + segment.length - 2, 1);
      }
      if (segment.marker === 0xc4) be('DHT.class', segment.offset + 4, 1);
      if (segment.marker === 0xdb) be('DQT.precision', segment.offset + 4, 1);
    }
  } else if (base.format === 'webp') {
    le('RIFF.size', 4, 4);
    le('chunk.size', 16, 4);
    const kind = data.toString('latin1', 12, 16);
    if (kind === 'VP8 ') {
      le('VP8.width', 26, 2);
      le('VP8.height', 28, 2);
      le('VP8.frameTag', 20, 4);
    } else if (kind === 'VP8L') {
      le('VP8L.dimensions', 21, 4);
      le('VP8L.signature', 20, 1);
    } else if (kind === 'VP8X') {
      le('VP8X.flags', 20, 1);
      le('VP8X.canvas', 24, 4);
    }
  } else {
    le('screen.width', 6, 2);
    le('screen.height', 8, 2);
    le('screen.flags', 10, 1);
    // Image descriptors and LZW code sizes of the first frames.
    let found = 0;
    for (let i = 13; i + 10 < data.length && found < 3; i++) {
      if (data[i] === 0x2c && data[i - 1] === 0x00) {
        le(`frame${found}.left`, i + 1, 2);
        le(`frame${found}.width`, i + 5, 2);
        le(`frame${found}.height`, i + 7, 2);
        le(`frame${found}.flags`, i + 9, 1);
        le(`frame${found}.lzwMinCodeSize`, i + 10, 1);
        found++;
      }
    }
  }
  return fields.filter((field) => field.offset + field.size <= data.length);
}

const interesting = [0, 1, 2, 3, 7, 8, 15, 16, 0x3f, 0x40, 0x7f, 0x80, 0xfe, 0xff, 0x100, 0x3fff, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

export interface FuzzCase {
  seed: number;
  index: number;
  base: string;
  /** What was done, in order: enough to read the case; `seed` and `index` regenerate it exactly. */
  mutations: string[];
  body: Buffer;
}

/** One case's own seed from the run seed and the case index (so any case replays alone). */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Mutate one base image deterministically: 1-3 of bit flips, byte overwrites, truncation, chunk duplication, header fields. */
export function fuzzCase(bases: readonly FuzzBase[], seed: number, index: number): FuzzCase {
  const random = prng(caseSeed(seed, index));
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const base = pick(bases);
  let data = Buffer.from(base.data);
  const fields = headerFields(base);
  const mutations: string[] = [];
  const count = 1 + int(3);
  for (let m = 0; m < count && data.length > 0; m++) {
    const kind = pick(['bitflip', 'bitflip', 'overwrite', 'truncate', 'duplicate', 'header', 'header', 'header'] as const);
    switch (kind) {
      case 'bitflip': {
        const flips = 1 + int(8);
        const at: number[] = [];
        for (let i = 0; i < flips; i++) {
          const offset = int(data.length);
          const bit = int(8);
          data[offset]! ^= 1 << bit;
          at.push(offset * 8 + bit);
        }
        mutations.push(`bitflip bits ${at.join(',')}`);
        break;
      }
      case 'overwrite': {
        const offset = int(data.length);
        const length = Math.min(1 + int(16), data.length - offset);
        const value = random() < 0.5 ? pick([0x00, 0xff, 0x7f, 0x80]) : -1;
        for (let i = 0; i < length; i++) data[offset + i] = value >= 0 ? value : int(256);
        mutations.push(`overwrite ${length} bytes at ${offset} with ${value >= 0 ? `0x${value.toString(16)}` : 'random'}`);
        break;
      }
      case 'truncate': {
        const length = int(data.length);
        data = data.subarray(0, length);
        mutations.push(`truncate to ${length}`);
        break;
      }
      case 'duplicate': {
        const start = int(data.length);
        const length = Math.min(1 + int(512), data.length - start);
        const at = int(data.length + 1);
        data = Buffer.concat([data.subarray(0, at), data.subarray(start, start + length), data.subarray(at)]);
        mutations.push(`duplicate ${length} bytes from ${start} at ${at}`);
        break;
      }
      case 'header': {
        const field = fields.length > 0 ? pick(fields) : undefined;
        if (!field || field.offset + field.size > data.length) {
          mutations.push('header (no field left)');
          break;
        }
        const max = field.size === 4 ? 0xffffffff : field.size === 2 ? 0xffff : 0xff;
        const value = (random() < 0.7 ? pick(interesting) : int(max + 1)) & max;
        if (field.size === 1) data[field.offset] = value;
        else if (field.size === 2) field.littleEndian ? data.writeUInt16LE(value, field.offset) : data.writeUInt16BE(value, field.offset);
        else field.littleEndian ? data.writeUInt32LE(value >>> 0, field.offset) : data.writeUInt32BE(value >>> 0, field.offset);
        let note = `header ${field.what}=${value}`;
        // Half the time keep the PNG IHDR CRC right, so the decoder gets past the checksum to the new value.
        if (base.format === 'png' && field.what.startsWith('IHDR.') && field.what !== 'IHDR.length' && random() < 0.5 && data.length >= 33) {
          data.writeUInt32BE(crc32(data.subarray(12, 29)), 29);
          note += ' (CRC fixed)';
        }
        mutations.push(note);
        break;
      }
    }
  }
  return { seed, index, base: base.name, mutations, body: data };
}

export interface FuzzRoute {
  url: string;
  /** multipart: the body goes in this field; raw: it is the request body. */
  mode: 'multipart' | 'raw';
  field?: string;
  /** Every 200 from this route has this Content-Type (otherwise any image/*). */
  mime?: string;
}

export const fuzzRoutes: readonly FuzzRoute[] = [
  { url: '/', mode: 'multipart', field: 'img', mime: 'image/jpeg' },
  { url: '/resize?width=100', mode: 'raw' },
  { url: '/crop?width=40&height=40&type=webp', mode: 'multipart', field: 'file', mime: 'image/webp' },
  { url: '/pipeline?operations=' + encodeURIComponent('[{"operation":"autorotate"},{"operation":"fit","params":{"width":32,"height":32,"type":"png"}}]'), mode: 'raw', mime: 'image/png' },
];

/** The request for one case on one route: method, url, headers and body, ready for inject() or fetch(). */
export function fuzzRequest(route: FuzzRoute, body: Buffer): { method: 'POST'; url: string; headers: Record<string, string>; payload: Buffer } {
  if (route.mode === 'raw') return { method: 'POST', url: route.url, headers: { 'content-type': 'application/octet-stream' }, payload: body };
  const form = buildMultipart([{ name: route.field ?? 'img', data: body, filename: 'fuzz.bin', contentType: 'application/octet-stream' }]);
  return { method: 'POST', url: route.url, headers: { 'content-type': form.contentType }, payload: form.body };
}

export interface Answer {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: Buffer;
}

/** What is wrong with an answer to a fuzz case, or undefined when it is a 200 image or a 4xx problem+json. */
export async function checkFuzzAnswer(route: FuzzRoute, answer: Answer): Promise<string | undefined> {
  const type = String(answer.headers['content-type'] ?? '');
  if (answer.statusCode >= 500) return `status ${answer.statusCode}: ${answer.body.toString('utf8', 0, 300)}`;
  if (answer.statusCode === 200) {
    if (!type.startsWith('image/')) return `200 with Content-Type ${type}`;
    if (route.mime && type !== route.mime) return `200 with Content-Type ${type}, expected ${route.mime}`;
    if (Number(answer.headers['content-length']) !== answer.body.length) return `Content-Length ${String(answer.headers['content-length'])} but ${answer.body.length} bytes`;
    try {
      const meta = await sharp(answer.body).metadata();
      if (`image/${meta.format}` !== type) return `200 says ${type} but the body is ${meta.format}`;
      if (String(meta.width) !== String(answer.headers['image-width']) || String(meta.height) !== String(answer.headers['image-height'])) {
        return `Image-Width/Height ${String(answer.headers['image-width'])}x${String(answer.headers['image-height'])} but the body is ${meta.width}x${meta.height}`;
      }
    } catch (err) {
      return `200 whose body does not decode: ${(err as Error).message}`;
    }
    return undefined;
  }
  if (answer.statusCode < 400) return `unexpected status ${answer.statusCode}`;
  if (type !== 'application/problem+json; charset=utf-8') return `${answer.statusCode} with Content-Type ${type}`;
  try {
    const problem = JSON.parse(answer.body.toString('utf8')) as { status?: unknown; code?: unknown };
    if (problem.status !== answer.statusCode || typeof problem.code !== 'string' || !problem.code.startsWith('PP_')) {
      return `${answer.statusCode} with a problem body that does not match: ${answer.body.toString('utf8', 0, 300)}`;
    }
  } catch {
    return `${answer.statusCode} whose body is not JSON`;
  }
  return undefined;
}

/** Send one request to a running server over HTTP and collect the answer the checks read. */
export async function fetchAnswer(base: string, request: ReturnType<typeof fuzzRequest>): Promise<Answer> {
  const response = await fetch(base + request.url, { method: request.method, headers: request.headers, body: new Uint8Array(request.payload) });
  const headers: Answer['headers'] = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  return { statusCode: response.status, headers, body: Buffer.from(await response.arrayBuffer()) };
}

/** A fresh random run seed (for the long script; the test pins one). */
export function randomSeed(): number {
  return randomBytes(4).readUInt32BE(0);
}

export interface FuzzOutcome {
  route: FuzzRoute;
  status: number;
  ms: number;
  /** Problem code of a 4xx, if any. */
  code?: string;
  /** What is wrong, if anything (a 5xx, a malformed answer, too slow). */
  failure?: string;
}

/** Send one case to every route through `send` (inject() in tests, fetch() against a running server) and judge each answer. */
export async function runFuzzCase(send: (request: ReturnType<typeof fuzzRequest>) => Promise<Answer>, fuzz: FuzzCase, slowMs = DEFAULT_WITHIN_MS): Promise<FuzzOutcome[]> {
  const outcomes: FuzzOutcome[] = [];
  for (const route of fuzzRoutes) {
    const start = performance.now();
    let answer: Answer;
    try {
      answer = await send(fuzzRequest(route, fuzz.body));
    } catch (err) {
      outcomes.push({ route, status: 0, ms: performance.now() - start, failure: `no answer: ${(err as Error).message}` });
      continue;
    }
    const ms = performance.now() - start;
    let code: string | undefined;
    if (answer.statusCode >= 400) {
      try {
        code = (JSON.parse(answer.body.toString('utf8')) as { code?: string }).code;
      } catch {
        // checkFuzzAnswer reports it
      }
    }
    const failure = (await checkFuzzAnswer(route, answer)) ?? (ms > slowMs ? `took ${ms.toFixed(0)} ms (bound ${slowMs} ms)` : undefined);
    outcomes.push({ route, status: answer.statusCode, ms, ...(code ? { code } : {}), ...(failure ? { failure } : {}) });
  }
  return outcomes;
}

/** One line that says what failed and how to replay it. */
export function describeFuzzFailure(fuzz: FuzzCase, outcome: FuzzOutcome): string {
  return (
    `case ${fuzz.index} (seed ${fuzz.seed}) base=${fuzz.base} [${fuzz.mutations.join('; ')}] ${fuzz.body.length} bytes → ` +
    `POST ${outcome.route.url} (${outcome.route.mode}): ${outcome.failure}\n` +
    `  replay: node --import tsx scripts/fuzz.ts --seed ${fuzz.seed} --case ${fuzz.index}`
  );
}
