/** JPEG marker segments: read them, and rewrite headers or entropy data to make hostile variants. */
import { prng } from '../prng.js';

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
