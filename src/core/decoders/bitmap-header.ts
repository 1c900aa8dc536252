/** Reads BMP and ICO headers on the main thread: size, bit depth and compression, before any pixel is decoded. */
import { ImageError } from '../errors.js';
import type { ContainerInfo } from './types.js';

/** DIB header sizes the decoder reads (BITMAPINFOHEADER and its V2-V5 successors); OS/2's 12-byte core header is not. */
const dibHeaderSizes = new Set([40, 52, 56, 108, 124]);
const compressions: Record<number, string> = { 0: 'none', 1: 'RLE8', 2: 'RLE4', 3: 'bitfields', 6: 'alpha bitfields' };
const bitDepths = new Set([1, 4, 8, 16, 24, 32]);

export interface DibHeader {
  width: number;
  height: number;
  bitsPerPixel: number;
  compression: number;
  /** Whether the file's own header says a fourth channel is alpha (an alpha mask in V3+ headers or BI_ALPHABITFIELDS). */
  hasAlpha: boolean;
}

function corrupt(why: string): ImageError {
  return new ImageError('PP_UNDECODABLE', `The BMP header is corrupt: ${why}`);
}

/** The DIB header starting at `at`; `icon` halves the height (an ICO entry stores its AND mask below the colours). */
export function readDibHeader(buf: Buffer, at: number, icon: boolean): DibHeader {
  if (at + 4 > buf.length) throw corrupt('truncated header');
  const size = buf.readUInt32LE(at);
  if (!dibHeaderSizes.has(size)) {
    throw new ImageError('PP_UNSUPPORTED_MEDIA', `BMP with a ${size}-byte header is not supported (only Windows BMP v3-v5 headers)`);
  }
  if (at + size > buf.length) throw corrupt('truncated header');
  const width = buf.readInt32LE(at + 4);
  const rawHeight = buf.readInt32LE(at + 8);
  const bitsPerPixel = buf.readUInt16LE(at + 14);
  const compression = buf.readUInt32LE(at + 16);
  const colours = buf.readUInt32LE(at + 32);
  // -2^31 has no positive counterpart: a top-down image that tall is no image.
  if (width <= 0 || rawHeight === 0 || rawHeight === -0x80000000) throw corrupt(`impossible size ${width}x${rawHeight}`);
  if (!bitDepths.has(bitsPerPixel)) throw new ImageError('PP_UNSUPPORTED_MEDIA', `BMP with ${bitsPerPixel} bits per pixel is not supported`);
  if (!(compression in compressions)) {
    throw new ImageError('PP_UNSUPPORTED_MEDIA', `BMP compression ${compression} (JPEG or PNG inside BMP) is not supported`);
  }
  // A palette longer than the bit depth can index is only a way to make the decoder read and allocate more.
  if (bitsPerPixel <= 8 && colours > 2 ** bitsPerPixel) throw corrupt(`${colours} palette colours for ${bitsPerPixel} bits per pixel`);
  if (colours > 256) throw corrupt(`${colours} palette colours`);
  const alphaMask = size >= 56 ? buf.readUInt32LE(at + 52) : 0;
  const hasAlpha = bitsPerPixel === 32 && (compression === 6 || (compression === 3 && alphaMask !== 0) || (size >= 56 && alphaMask !== 0));
  const height = Math.abs(rawHeight);
  return { width, height: icon ? Math.floor(height / 2) : height, bitsPerPixel, compression, hasAlpha: icon || hasAlpha };
}

export function isBmp(buf: Buffer): boolean {
  return buf.length >= 18 && buf[0] === 0x42 && buf[1] === 0x4d && dibHeaderSizes.has(buf.readUInt32LE(14));
}

export function readBmpHeader(buf: Buffer): ContainerInfo & { dib: DibHeader } {
  if (buf.length < 26) throw corrupt('truncated header');
  const dib = readDibHeader(buf, 14, false);
  if (buf.readUInt32LE(10) >= buf.length) throw corrupt('the pixel data starts past the end of the file');
  return { format: 'bmp', width: dib.width, height: dib.height, pages: 1, hasAlpha: dib.hasAlpha, thumbnails: [], dib };
}

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One image of an ICO (or CUR) as its own bytes say, not as the directory claims. */
export interface IconEntry {
  offset: number;
  length: number;
  width: number;
  height: number;
  bitsPerPixel: number;
  png: boolean;
}

export function isIco(buf: Buffer): boolean {
  if (buf.length < 22 || buf.readUInt16LE(0) !== 0) return false;
  const type = buf.readUInt16LE(2);
  const count = buf.readUInt16LE(4);
  // Reserved byte 9 of each directory entry is zero; checking the first keeps random data starting with 00 00 01 00 out.
  return (type === 1 || type === 2) && count > 0 && buf[9] === 0;
}

/** The ICO's directory with each entry's real size; the largest (then deepest) entry is what is decoded. */
export function readIcoHeader(buf: Buffer): ContainerInfo & { entry: IconEntry } {
  const count = buf.readUInt16LE(4);
  if (buf.length < 6 + count * 16) throw new ImageError('PP_UNDECODABLE', 'The ICO directory is truncated');
  const entries: IconEntry[] = [];
  for (let i = 0; i < count; i++) {
    const dir = 6 + i * 16;
    const length = buf.readUInt32LE(dir + 8);
    const offset = buf.readUInt32LE(dir + 12);
    if (offset < 6 + count * 16 || offset + length > buf.length || length < 40) {
      throw new ImageError('PP_UNDECODABLE', `ICO entry ${i + 1} points outside the file`);
    }
    if (buf.subarray(offset, offset + 8).equals(pngSignature)) {
      if (length < 33) throw new ImageError('PP_UNDECODABLE', `ICO entry ${i + 1} is a truncated PNG`);
      const depth = buf.readUInt8(offset + 24) * ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[buf.readUInt8(offset + 25)] ?? 4);
      entries.push({ offset, length, width: buf.readUInt32BE(offset + 16), height: buf.readUInt32BE(offset + 20), bitsPerPixel: depth, png: true });
    } else {
      const dib = readDibHeader(buf.subarray(offset, offset + length), 0, true);
      entries.push({ offset, length, width: dib.width, height: dib.height, bitsPerPixel: dib.bitsPerPixel, png: false });
    }
  }
  const entry = entries.reduce((best, e) => (e.width * e.height > best.width * best.height || (e.width * e.height === best.width * best.height && e.bitsPerPixel > best.bitsPerPixel) ? e : best));
  return { format: 'ico', width: entry.width, height: entry.height, pages: count, hasAlpha: true, thumbnails: [], entry };
}
