/**
 * Worker side of BMP (bmp-ts: 1/4/8/16/24/32-bit, RLE4/RLE8, bit fields) and ICO/CUR (decode-ico, which also applies
 * each icon's AND mask). Pure JavaScript, but it still runs in the worker: a 50 MP BMP is seconds of tight loops.
 */
import { decode as decodeBmpFile } from 'bmp-ts';
import decodeIco from 'decode-ico';
import { readBmpHeader, readIcoHeader } from './bitmap-header.js';
import { DecodeFailure } from './failure.js';
import type { DecodeTask, RawImage } from './types.js';

function checkPixels(width: number, height: number, task: DecodeTask, what: string): void {
  if (width * height > task.maxPixels) {
    throw new DecodeFailure('PP_TOO_MANY_PIXELS', `${what} is ${width}x${height}, over the limit of ${task.maxPixels} pixels`);
  }
}

/** Drop the fourth channel when the file says it is not alpha (bmp-ts fills it with 0 or padding then). */
function toChannels(rgba: Uint8Array, width: number, height: number, alpha: boolean): { data: Uint8Array; channels: 3 | 4 } {
  if (alpha) return { data: rgba, channels: 4 };
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, o = 0; o < rgb.length; i += 4, o += 3) {
    rgb[o] = rgba[i]!;
    rgb[o + 1] = rgba[i + 1]!;
    rgb[o + 2] = rgba[i + 2]!;
  }
  return { data: rgb, channels: 3 };
}

export function decodeBmp(task: DecodeTask): RawImage {
  const buf = Buffer.from(task.data.buffer, task.data.byteOffset, task.data.byteLength);
  const header = readBmpHeader(buf);
  checkPixels(header.width, header.height, task, 'BMP image');
  const decoded = wrap(() => decodeBmpFile(buf, { toRGBA: true }), 'BMP');
  if (decoded.width !== header.width || decoded.height !== header.height) throw new DecodeFailure('PP_UNDECODABLE', 'The BMP decoded to another size than its header says');
  const { data, channels } = toChannels(new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength), decoded.width, decoded.height, header.hasAlpha);
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
