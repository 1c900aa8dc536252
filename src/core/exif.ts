/**
 * The EXIF Orientation tag, read from the EXIF block itself. imaginary's /info reports that value, or 0 when the file
 * has no EXIF Orientation; libvips' own orientation field also counts a TIFF's baseline tag and its default of 1.
 */
const ORIENTATION = 0x0112;
const SHORT = 3;

/** 1-8 from IFD0 of an EXIF block ("Exif\0\0" and a TIFF header, as sharp's metadata gives it), else 0. */
export function exifOrientation(exif: Buffer | undefined): number {
  if (!exif) return 0;
  const start = exif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? 6 : 0;
  const order = exif.subarray(start, start + 2).toString('latin1');
  if (exif.length < start + 8 || (order !== 'II' && order !== 'MM')) return 0;
  const little = order === 'II';
  const u16 = (at: number) => (little ? exif.readUInt16LE(at) : exif.readUInt16BE(at));
  const u32 = (at: number) => (little ? exif.readUInt32LE(at) : exif.readUInt32BE(at));
  const ifd = start + u32(start + 4);
  if (ifd + 2 > exif.length) return 0;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > exif.length) return 0;
    if (u16(entry) !== ORIENTATION) continue;
    if (u16(entry + 2) !== SHORT) return 0;
    const value = u16(entry + 8);
    return value >= 1 && value <= 8 ? value : 0;
  }
  return 0;
}
