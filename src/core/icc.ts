/**
 * Tagging a JPEG with an ICC profile without touching its pixels: APP2 "ICC_PROFILE" segments (ICC.1 Annex B).
 * Used when pixels were decoded without converting to sRGB, which is both cheaper (no colour transform) and keeps
 * wide-gamut photos (Display P3 from phones) as they were. sharp can only attach a profile by converting into it.
 */
const MARKER = Buffer.from('ICC_PROFILE\0', 'latin1');
/** A segment's length field counts itself (2) and the 14-byte header; 65535 is its maximum. */
const CHUNK = 65535 - 2 - MARKER.length - 2;

export function embedIccInJpeg(jpeg: Buffer, icc: Buffer): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new TypeError('Expected a JPEG (SOI marker)');
  const count = Math.ceil(icc.length / CHUNK);
  if (count === 0 || count > 255) throw new RangeError(`Expected an ICC profile of 1 byte to ${255 * CHUNK} bytes but received ${icc.length}`);
  const segments: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const data = icc.subarray(i * CHUNK, (i + 1) * CHUNK);
    const header = Buffer.alloc(4 + MARKER.length + 2);
    header.writeUInt16BE(0xffe2, 0);
    header.writeUInt16BE(2 + MARKER.length + 2 + data.length, 2);
    MARKER.copy(header, 4);
    header[4 + MARKER.length] = i + 1;
    header[5 + MARKER.length] = count;
    segments.push(header, data);
  }
  // After SOI and a JFIF APP0, where readers expect application segments; before everything else.
  let at = 2;
  if (jpeg[2] === 0xff && jpeg[3] === 0xe0) at = 4 + jpeg.readUInt16BE(4);
  return Buffer.concat([jpeg.subarray(0, at), ...segments, jpeg.subarray(at)]);
}
