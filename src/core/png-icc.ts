/**
 * An ICC profile put into a PNG as its iCCP chunk (PNG spec 11.3.3.3), right after IHDR where readers look for it.
 * fidelity.ts uses it to hand sharp raw pixels together with the profile they are in.
 */
import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = 8;
/** Length, type, 13 bytes of data, CRC. */
const IHDR_END = SIGNATURE + 4 + 4 + 13 + 4;

export function pngWithIcc(png: Buffer, icc: Buffer): Buffer {
  if (png.toString('latin1', 12, 16) !== 'IHDR') throw new TypeError('Expected a PNG starting with its IHDR chunk');
  // Name, its NUL, compression method 0 (zlib), then the compressed profile.
  const data = Buffer.concat([Buffer.from('icc\0\0', 'latin1'), deflateSync(icc)]);
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write('iCCP', 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return Buffer.concat([png.subarray(0, IHDR_END), chunk, png.subarray(IHDR_END)]);
}
