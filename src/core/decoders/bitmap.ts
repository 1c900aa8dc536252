/**
 * Worker side of BMP (bmp-ts: 1/4/8/16/24/32-bit, RLE4/RLE8, bit fields) and ICO/CUR (decode-ico, which also applies
 * each icon's AND mask). Pure JavaScript, but it still runs in the worker: a 50 MP BMP is seconds of tight loops.
 */
import { decode as decodeBmpFile } from 'bmp-ts';
import decodeIco from 'decode-ico';
import { readBmpHeader, readIcoHeader } from './bitmap-header.js';
import { DecodeFailure } from './failure.js';
import { expandRle, unpackIndices } from './palette.js';
import type { DecodeTask, RawImage } from './types.js';

function checkPixels(width: number, height: number, task: DecodeTask, what: string): void {
  if (width * height > task.maxPixels) {
    throw new DecodeFailure('PP_TOO_MANY_PIXELS', `${what} is ${width}x${height}, over the limit of ${task.maxPixels} pixels`);
  }
}

/**
 * bmp-ts writes ABGR (its only layout that every bit depth gets right); sharp wants RGB, or RGBA when the file's
 * header says the fourth channel is alpha (otherwise it is padding or zero).
 */
function fromAbgr(abgr: Uint8Array, width: number, height: number, alpha: boolean): { data: Uint8Array; channels: 3 | 4 } {
  const channels = alpha ? 4 : 3;
  const out = new Uint8Array(width * height * channels);
  for (let i = 0, o = 0; o < out.length; i += 4, o += channels) {
    out[o] = abgr[i + 3]!;
    out[o + 1] = abgr[i + 2]!;
    out[o + 2] = abgr[i + 1]!;
    if (alpha) out[o + 3] = abgr[i]!;
  }
  return { data: out, channels };
}

/** Bits set in a mask (its channel's depth). */
function maskBits(mask: number): number {
  let bits = 0;
  for (let m = mask >>> 0; m; m &= m - 1) bits++;
  return bits;
}

/**
 * bmp-ts widens an n-bit channel by shifting (31 -> 248); every other decoder scales it (31 -> 255). Redo it for
 * 16-bit images: recover the n-bit value and scale it, so white stays white.
 */
function stretchSixteenBit(abgr: Uint8Array, bmp: Buffer, compression: number): void {
  // Masks follow the 40-byte header for bit fields (or sit inside a V2+ header at the same place); BI_RGB is 5-5-5.
  const masks = compression === 3 || compression === 6 ? [bmp.readUInt32LE(62), bmp.readUInt32LE(58), bmp.readUInt32LE(54)] : [0x1f, 0x3e0, 0x7c00];
  // ABGR: blue at 1, green at 2, red at 3.
  masks.forEach((mask, i) => {
    const bits = maskBits(mask);
    if (bits === 0 || bits >= 8) return;
    const table = new Uint8Array(256);
    for (let o = 0; o < 256; o++) table[o] = Math.round(((o >> (8 - bits)) * 255) / (2 ** bits - 1));
    for (let p = i + 1; p < abgr.length; p += 4) abgr[p] = table[abgr[p]!]!;
  });
}

export function decodeBmp(task: DecodeTask): RawImage {
  const buf = Buffer.from(task.data.buffer, task.data.byteOffset, task.data.byteLength);
  const header = readBmpHeader(buf);
  checkPixels(header.width, header.height, task, 'BMP image');
  const { compression, bitsPerPixel } = header.dib;
  const plain =
    compression === 1 || compression === 2
      ? expandRle(buf, header.width, header.height, compression === 2)
      : bitsPerPixel === 1 || bitsPerPixel === 4
        ? unpackIndices(buf, header.width, header.height, bitsPerPixel)
        : buf;
  const decoded = wrap(() => decodeBmpFile(plain), 'BMP');
  if (decoded.width !== header.width || decoded.height !== header.height) throw new DecodeFailure('PP_UNDECODABLE', 'The BMP decoded to another size than its header says');
  const abgr = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength);
  if (bitsPerPixel === 16) stretchSixteenBit(abgr, buf, compression);
  const { data, channels } = fromAbgr(abgr, decoded.width, decoded.height, header.hasAlpha);
  return { data, width: decoded.width, height: decoded.height, channels, source: 'primary' };
}

/** The largest entry alone, re-wrapped as a one-image ICO: the others (up to 65,535 of them) are never decoded. */
export function decodeIcoEntry(task: DecodeTask): RawImage | { png: Uint8Array } {
  const buf = Buffer.from(task.data.buffer, task.data.byteOffset, task.data.byteLength);
  const { entry } = readIcoHeader(buf);
  checkPixels(entry.width, entry.height, task, 'ICO image');
  const bytes = buf.subarray(entry.offset, entry.offset + entry.length);
  if (entry.png) return { png: new Uint8Array(bytes) };
  const single = Buffer.alloc(22 + bytes.length);
  single.writeUInt16LE(1, 2);
  single.writeUInt16LE(1, 4);
  // Directory width/height bytes: 0 means 256; decode-ico reads the real size from the DIB header it is given.
  single.writeUInt8(entry.width & 0xff, 6);
  single.writeUInt8(entry.height & 0xff, 7);
  single.writeUInt32LE(bytes.length, 14);
  single.writeUInt32LE(22, 18);
  bytes.copy(single, 22);
  const [image] = wrap(() => decodeIco(single), 'ICO');
  if (!image || image.type !== 'bmp') throw new DecodeFailure('PP_UNDECODABLE', 'The ICO entry could not be decoded');
  const data = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return { data, width: image.width, height: image.height, channels: 4, source: 'entry' };
}

function wrap<T>(decode: () => T, what: string): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof DecodeFailure) throw err;
    // Out-of-range reads of a truncated file surface as RangeError; the first line is the decoder's own wording.
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new DecodeFailure('PP_UNDECODABLE', `The ${what} image could not be decoded: ${message}`);
  }
}
