/**
 * PNG chunk surgery for the metadata tests: a real PNG from sharp with ancillary chunks spliced in, CRCs correct,
 * so libpng reads them as it would a camera's or an attacker's. Nothing here imports the code under test.
 */
import zlib from 'node:zlib';
import sharp from 'sharp';
import { pngChunk, PNG_SIGNATURE } from './formats/png.js';

export { pngChunk, PNG_SIGNATURE };

/** A small real PNG (IHDR, IDAT, IEND as sharp writes them). */
export function basePng(width = 16, height = 16): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#3366cc' } }).png().toBuffer();
}

/** Where chunks go: after IHDR (read by libpng's header pass, which `metadata()` runs) or just before IEND. */
export type Placement = 'after-ihdr' | 'before-iend';

/** `png` with `chunks` inserted; the signature and IHDR are taken as sharp writes them (IHDR first, 13 bytes). */
export function withChunks(png: Buffer, chunks: readonly Buffer[], placement: Placement = 'after-ihdr'): Buffer {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG from sharp');
  const at = placement === 'after-ihdr' ? 8 + 8 + 13 + 4 : png.length - 12;
  if (placement === 'before-iend' && png.toString('latin1', at + 4, at + 8) !== 'IEND') throw new Error('IEND is not last');
  return Buffer.concat([png.subarray(0, at), ...chunks, png.subarray(at)]);
}

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
const NUL = Buffer.from([0]);

/** Deflated runs of one byte are cached: a 20 MB run takes ~50 ms to compress and every bomb reuses it. */
const runCache = new Map<string, Buffer>();

/** A zlib stream of `size` bytes of `byte` (zeros compress about 1000:1, so 20 MB comes to ~20 KB). */
export function deflatedRun(size: number, byte = 0x41): Buffer {
  const key = `${size}:${byte}`;
  let stream = runCache.get(key);
  if (!stream) {
    stream = zlib.deflateSync(Buffer.alloc(size, byte), { level: 9 });
    runCache.set(key, stream);
  }
  return stream;
}

export function tEXt(keyword: string, text: string): Buffer {
  return pngChunk('tEXt', Buffer.concat([latin1(keyword), NUL, latin1(text)]));
}

/** zTXt: keyword, NUL, compression method 0, zlib stream. */
export function zTXt(keyword: string, stream: Buffer): Buffer {
  return pngChunk('zTXt', Buffer.concat([latin1(keyword), NUL, Buffer.from([0]), stream]));
}

/** iTXt: keyword, NUL, compression flag, method, language tag, NUL, translated keyword, NUL, text (a zlib stream if compressed). */
export function iTXt(keyword: string, text: Buffer, compressed: boolean): Buffer {
  const header = Buffer.concat([latin1(keyword), NUL, Buffer.from([compressed ? 1 : 0, 0]), latin1('en'), NUL, NUL]);
  return pngChunk('iTXt', Buffer.concat([header, text]));
}

/** iCCP: profile name, NUL, compression method 0, zlib stream of the profile. */
export function iCCP(name: string, profileStream: Buffer): Buffer {
  return pngChunk('iCCP', Buffer.concat([latin1(name), NUL, Buffer.from([0]), profileStream]));
}

export function eXIf(tiff: Buffer): Buffer {
  return pngChunk('eXIf', tiff);
}

/**
 * The ICC profile header libpng checks before inflating the rest (size, 'acsp', an RGB display class), padded with
 * `fill` to `size` bytes: what an iCCP bomb must look like to make libpng allocate and inflate all of it.
 */
export function iccLike(size: number, fill = 0): Buffer {
  const profile = Buffer.alloc(size, fill);
  profile.fill(0, 0, 132);
  profile.writeUInt32BE(size, 0);
  profile.write('mntrRGB XYZ ', 12, 'latin1');
  profile.writeUInt32BE(0x02100000, 8); // version 2.1
  profile.write('acsp', 36, 'latin1');
  profile.writeUInt32BE(0, 128); // no tags
  return profile;
}

/** The PNG the issue describes: `count` zTXt chunks of `inflatedEach` bytes each, after IHDR. */
export function zTXtBomb(png: Buffer, count: number, inflatedEach: number): Buffer {
  const stream = deflatedRun(inflatedEach);
  return withChunks(png, Array.from({ length: count }, (_, i) => zTXt(`Comment${i}`, stream)));
}
