/**
 * The pure-TypeScript ring blur (Pillow's ImageFilter.BLUR), row band by row band, with four bytes per 32-bit operation.
 *
 * For output row y, with r0..r4 the source rows y-2..y+2 and i a byte index (channels interleaved, neighbour = i +- c):
 *   A[i] = r0[i] + r4[i]                          (a column of the ring's top and bottom edges)
 *   T[i] = r0[i] + r1[i] + r2[i] + r3[i] + r4[i]  (a full 5-tall column: the ring's left and right edges)
 *   out[i] = (T[i-2c] + T[i+2c] + A[i-c] + A[i] + A[i+c] + 8) >> 4
 * which is the sum of the 16 ring taps, divided by 16 and rounded half up, exactly as Pillow's Filter.c does.
 *
 * Speed comes from SWAR ("SIMD within a register"): the vertical sums take four source bytes per 32-bit load, split
 * into even and odd bytes (two 16-bit lanes each: a column sum is at most 5*255, so lanes never carry into each
 * other), and the horizontal sum makes two outputs per 32-bit addition (at most 16*255+8 = 4088 per lane). Source rows
 * are first copied into a ring of five 4-byte-aligned rows, since a Uint32Array can only be read at aligned offsets.
 * The column sums are stored twice, as 16-bit pairs starting at even indices (P) and at odd indices (Q), so that the
 * pair at any offset (+-c may be odd) is one aligned 32-bit read.
 */

const EVEN_BYTES = 0x00ff00ff;

/** The SWAR lanes assume little-endian typed arrays (x64, arm64); elsewhere blurRows uses the plain loop. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Writes rows [y0, y1) of the blur of `src` into `out` (both width*height*channels bytes, interleaved channels).
 * Rows in the 2-pixel border, and the 2-pixel left and right border of the other rows, are copied from `src`.
 * Bands may be done in any order and in separate calls; each call allocates its own small scratch (six rows).
 */
export function blurRows(src: Uint8Array, out: Uint8Array, width: number, height: number, channels: number, y0: number, y1: number): void {
  const c = channels;
  const stride = width * c;
  if (y1 <= y0) return;
  out.set(src.subarray(y0 * stride, y1 * stride), y0 * stride); // the border; the interior is overwritten below
  const first = Math.max(y0, 2);
  const last = Math.min(y1, height - 2); // exclusive
  if (width < 5 || first >= last) return;
  if (!LITTLE_ENDIAN) return blurRowsPlain(src, out, width, c, first, last);

  const words = (stride + 3) >> 2; // 4-byte groups per row
  const rowBytes = words * 4;
  const ring = new Uint8Array(5 * rowBytes); // source row r lives in slot r % 5; padding bytes stay 0
  const ring32 = new Uint32Array(ring.buffer);
  const pairs = 2 * words + 1;
  const aP = new Uint32Array(pairs); // aP[k] = A[2k] | A[2k+1] << 16
  const aQ = new Uint32Array(pairs); // aQ[k] = A[2k+1] | A[2k+2] << 16
  const tP = new Uint32Array(pairs);
  const outRow = new Uint8Array(rowBytes + 4);
  const outRow16 = new Uint16Array(outRow.buffer);
  const n = stride - 4 * c; // interior bytes per row
  // Offsets, in pairs, of the five taps from an even index 2j: T at +0 and +4c, A at +c, +2c and +3c.
  const oddC = (c & 1) === 1;
  const aNear = oddC ? aQ : aP; // A at 2j+c and 2j+3c: odd indices when c is odd
  const h1 = c >> 1;
  const h2 = c;
  const h3 = (3 * c) >> 1;
  const h4 = 2 * c;

  for (let r = first - 2; r < first + 2; r++) ring.set(src.subarray(r * stride, (r + 1) * stride), (r % 5) * rowBytes);
  for (let y = first; y < last; y++) {
    const slot4 = ((y + 2) % 5) * words;
    ring.set(src.subarray((y + 2) * stride, (y + 3) * stride), slot4 * 4);
    const slot0 = ((y - 2) % 5) * words;
    const slot1 = ((y - 1) % 5) * words;
    const slot2 = (y % 5) * words;
    const slot3 = ((y + 1) % 5) * words;

    // Vertical: per 4 source bytes, even-byte and odd-byte lane sums, then re-paired in byte order.
    let prevOddA = 0;
    for (let k = 0; k < words; k++) {
      const w0 = ring32[slot0 + k]!;
      const w1 = ring32[slot1 + k]!;
      const w2 = ring32[slot2 + k]!;
      const w3 = ring32[slot3 + k]!;
      const w4 = ring32[slot4 + k]!;
      const evenA = (w0 & EVEN_BYTES) + (w4 & EVEN_BYTES); // A[4k] | A[4k+2] << 16
      const oddA = ((w0 >>> 8) & EVEN_BYTES) + ((w4 >>> 8) & EVEN_BYTES); // A[4k+1] | A[4k+3] << 16
      const evenT = evenA + (w1 & EVEN_BYTES) + (w2 & EVEN_BYTES) + (w3 & EVEN_BYTES);
      const oddT = oddA + ((w1 >>> 8) & EVEN_BYTES) + ((w2 >>> 8) & EVEN_BYTES) + ((w3 >>> 8) & EVEN_BYTES);
      const p = 2 * k;
      aP[p] = (evenA & 0xffff) | (oddA << 16);
      aP[p + 1] = (evenA >>> 16) | (oddA & 0xffff0000);
      tP[p] = (evenT & 0xffff) | (oddT << 16);
      tP[p + 1] = (evenT >>> 16) | (oddT & 0xffff0000);
      aQ[p] = (oddA & 0xffff) | (evenA & 0xffff0000);
      if (k > 0) aQ[p - 1] = (prevOddA >>> 16) | (evenA << 16);
      prevOddA = oddA;
    }
    // Horizontal: two outputs per step. When n is odd the last step makes one byte too many; it is not copied out.
    for (let j = 0, m = (n + 1) >> 1; j < m; j++) {
      const s = tP[j]! + tP[j + h4]! + aNear[j + h1]! + aP[j + h2]! + aNear[j + h3]! + 0x00080008;
      outRow16[j] = ((s >>> 4) & 0xff) | ((s >>> 12) & 0xff00);
    }
    out.set(outRow.subarray(0, n), y * stride + 2 * c);
  }
}

/**
 * The same blur one byte at a time (about half the speed): for big-endian machines, and a second opinion in the tests.
 * Writes only the interior of rows [first, last), which must lie within 2..height-3; the border is the caller's.
 */
export function blurRowsPlain(src: Uint8Array, out: Uint8Array, width: number, c: number, first: number, last: number): void {
  const stride = width * c;
  const a = new Uint16Array(stride);
  const t = new Uint16Array(stride);
  for (let y = first; y < last; y++) {
    const r0 = (y - 2) * stride;
    const r1 = r0 + stride;
    const r2 = r1 + stride;
    const r3 = r2 + stride;
    const r4 = r3 + stride;
    for (let i = 0; i < stride; i++) {
      const top = src[r0 + i]! + src[r4 + i]!;
      a[i] = top;
      t[i] = top + src[r1 + i]! + src[r2 + i]! + src[r3 + i]!;
    }
    for (let i = 0, m = stride - 4 * c, o = r2 + 2 * c; i < m; i++) {
      out[o + i] = (t[i]! + t[i + 4 * c]! + a[i + c]! + a[i + 2 * c]! + a[i + 3 * c]! + 8) >> 4;
    }
  }
}
