/**
 * Pillow's BoxBlur, GaussianBlur and UnsharpMask, in its own fixed-point arithmetic: a running sum per line with the
 * fractional edge weight in 24-bit fixed point, edge pixels repeated, horizontal passes then vertical ones; the Gaussian
 * is three box passes of a radius from Gwosdek et al., computed in float32 as Pillow does.
 */
import { eachRow, sameShape, type Between, type Raster } from '../raster.js';

const f = Math.fround;

/**
 * One line of `length` samples at `stride` apart, blurred from `input` into `output` (they may not alias): Pillow's
 * ImagingLineBoxBlur8 with its three ranges (near the left edge, the middle, near the right edge) folded into one loop
 * that clamps the two indices it reads. Sums stay below 2^32 (255 x the line) and products below 2^53, so plain numbers
 * are exact; `>>> 0` is UINT32's wrap.
 */
function blurLine(input: Uint8Array, output: Uint8Array, start: number, stride: number, length: number, radius: number, ww: number, fw: number): void {
  const lastx = length - 1;
  const edgeA = Math.min(radius + 1, length);
  let acc = input[start]! * (radius + 1);
  for (let x = 0; x < edgeA - 1; x++) acc += input[start + x * stride]!;
  acc += input[start + lastx * stride]! * (radius - edgeA + 1);
  for (let x = 0; x <= lastx; x++) {
    // Pillow subtracts pixel x - radius - 1 and adds x + radius, each clamped to the line, and weighs the two just
    // outside the window (clamped the same way) by fw.
    const leaving = x - radius - 1 < 0 ? 0 : x - radius - 1;
    const entering = x + radius > lastx ? lastx : x + radius;
    const right = x + radius + 1 > lastx ? lastx : x + radius + 1;
    acc += input[start + entering * stride]! - input[start + leaving * stride]!;
    const bulk = (acc * ww + (input[start + leaving * stride]! + input[start + right * stride]!) * fw) >>> 0;
    output[start + x * stride] = (((bulk + 0x800000) >>> 0) >>> 24) & 0xff;
  }
}

/** Pillow's weights for a fractional radius: whole pixels weigh ww, the two at the fringe fw, in 1/2^24. */
function weights(floatRadius: number): { radius: number; ww: number; fw: number } {
  const radius = Math.trunc(floatRadius);
  const ww = Math.trunc(f(16_777_216 / f(f(floatRadius * 2) + 1)));
  const fw = Math.trunc((16_777_216 - (radius * 2 + 1) * ww) / 2);
  return { radius, ww, fw };
}

/** `passes` box blurs of `floatRadius` along x, then as many along y. */
export async function boxBlur(src: Raster, floatRadius: number, passes: number, between: Between): Promise<Raster> {
  if (floatRadius === 0) return sameShape(src, new Uint8Array(src.data));
  const { width, height, channels } = src;
  const { radius, ww, fw } = weights(f(floatRadius));
  let current: Uint8Array = src.data;
  for (let pass = 0; pass < passes; pass++) {
    const next = new Uint8Array(current.length);
    const from = current;
    await eachRow(between, (y) => {
      for (let c = 0; c < channels; c++) blurLine(from, next, y * width * channels + c, channels, width, radius, ww, fw);
    }, height);
    current = next;
  }
  for (let pass = 0; pass < passes; pass++) {
    const next = new Uint8Array(current.length);
    const from = current;
    // Columns, a slice at a time.
    await eachRow(between, (x) => {
      for (let c = 0; c < channels; c++) blurLine(from, next, x * channels + c, width * channels, height, radius, ww, fw);
    }, width);
    current = next;
  }
  return sameShape(src, current);
}

/** The box radius whose three passes approximate a Gaussian of standard deviation `radius`, in float32 as Pillow. */
export function gaussianBoxRadius(radius: number, passes = 3): number {
  const r = f(radius);
  const sigma2 = f(f(r * r) / passes);
  const L = f(Math.sqrt(12 * sigma2 + 1));
  const l = f(Math.floor((L - 1) / 2));
  let a = f(f(f(2 * l) + 1) * f(f(l * f(l + 1)) - f(3 * sigma2)));
  a = f(a / f(6 * f(sigma2 - f(f(l + 1) * f(l + 1)))));
  return f(l + a);
}

export function gaussianBlur(src: Raster, radius: number, between: Between): Promise<Raster> {
  return boxBlur(src, gaussianBoxRadius(radius), 3, between);
}

/** Pillow's UnsharpMask: where a sample differs from its Gaussian blur by more than `threshold`, push it away by percent. */
export async function unsharpMask(src: Raster, radius: number, percent: number, threshold: number, between: Between): Promise<Raster> {
  const blurred = await gaussianBlur(src, radius, between);
  const out = blurred.data;
  const input = src.data;
  for (let i = 0; i < input.length; i++) {
    const diff = input[i]! - out[i]!;
    out[i] = Math.abs(diff) > threshold ? Math.max(0, Math.min(255, input[i]! + Math.trunc((diff * percent) / 100))) : input[i]!;
  }
  return blurred;
}
