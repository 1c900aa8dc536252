/**
 * Rewrites every palette BMP that is not plain 8-bit (RLE8, RLE4, 1-bit, 4-bit) as an uncompressed 8-bit BMP with the
 * same palette, so one path decodes them all: bmp-ts' RLE paths write pixels at the wrong offsets, and its 4-bit path
 * loses rows of odd width. Linear in the input and the output: every step consumes input bytes or fills at most one
 * row, and writes stop at the image's edge.
 */
import { DecodeFailure } from './failure.js';

/** An uncompressed 1- or 4-bit BMP as 8-bit: one index byte per pixel, rows padded to 4 bytes. */
export function unpackIndices(bmp: Buffer, width: number, height: number, bits: 1 | 4): Buffer {
  const dataOffset = bmp.readUInt32LE(10);
  const inStride = Math.ceil((width * bits) / 32) * 4;
  if (dataOffset + inStride * height > bmp.length) throw new DecodeFailure('PP_UNDECODABLE', 'The BMP image could not be decoded: its pixel data is truncated');
  const outStride = Math.ceil(width / 4) * 4;
  const pixels = Buffer.alloc(outStride * height);
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  for (let y = 0; y < height; y++) {
    const row = dataOffset + y * inStride;
    for (let x = 0; x < width; x++) {
      const b = bmp[row + Math.floor(x / perByte)]!;
      pixels[y * outStride + x] = (b >> (8 - bits * ((x % perByte) + 1))) & mask;
    }
  }
  return asEightBit(bmp, pixels, bits);
}

function asEightBit(bmp: Buffer, pixels: Buffer, bits: number): Buffer {
  const out = Buffer.concat([bmp.subarray(0, bmp.readUInt32LE(10)), pixels]);
  out.writeUInt16LE(8, 28);
  out.writeUInt32LE(0, 30);
  out.writeUInt32LE(pixels.length, 34);
  out.writeUInt32LE(out.length, 2);
  // "0 colours" means 2^bits; at 8 bits it would mean 256 and read past the real palette.
  if (out.readUInt32LE(46) === 0) out.writeUInt32LE(2 ** bits, 46);
  return out;
}

export function expandRle(bmp: Buffer, width: number, height: number, rle4: boolean): Buffer {
  const dataOffset = bmp.readUInt32LE(10);
  const stride = Math.ceil(width / 4) * 4;
  const pixels = Buffer.alloc(stride * height);
  let x = 0;
  let y = 0; // rows as stored: row 0 is the first in the file
  let at = dataOffset;
  const put = (index: number) => {
    if (y < height) pixels[y * stride + x] = index;
    x++;
  };
  /** Pixels of a run that still fall inside the row; the rest are skipped at once, not one by one. */
  const room = (count: number) => Math.max(0, Math.min(count, width - x));
  const byte = () => {
    if (at >= bmp.length) throw new DecodeFailure('PP_UNDECODABLE', 'The BMP image could not be decoded: RLE data ends before the image does');
    return bmp[at++]!;
  };
  while (y < height) {
    const count = byte();
    const value = byte();
    if (count > 0) {
      const n = room(count);
      for (let i = 0; i < n; i++) put(rle4 ? (i % 2 === 0 ? value >> 4 : value & 15) : value);
      x += count - n;
    } else if (value === 0) {
      x = 0;
      y++;
    } else if (value === 1) {
      break;
    } else if (value === 2) {
      x += byte();
      y += byte();
    } else {
      // Absolute mode: `value` literal pixels, padded to a 16-bit boundary.
      const bytes = rle4 ? Math.ceil(value / 2) : value;
      if (at + bytes > bmp.length) throw new DecodeFailure('PP_UNDECODABLE', 'The BMP image could not be decoded: RLE data ends before the image does');
      const n = room(value);
      for (let i = 0; i < n; i++) {
        const b = rle4 ? bmp[at + (i >> 1)] : bmp[at + i];
        if (b === undefined) throw new DecodeFailure('PP_UNDECODABLE', 'The BMP image could not be decoded: RLE data ends before the image does');
        put(rle4 ? (i % 2 === 0 ? b >> 4 : b & 15) : b);
      }
      x += value - n;
      at += bytes + (bytes % 2);
    }
  }
  return asEightBit(bmp, pixels, rle4 ? 4 : 8);
}
