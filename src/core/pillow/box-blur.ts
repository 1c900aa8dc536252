/**
 * Pillow's BoxBlur, GaussianBlur and UnsharpMask, in its own fixed-point arithmetic: a running sum per line with the
 * fractional edge weight in 24-bit fixed point, edge pixels repeated, horizontal passes then vertical ones; the Gaussian
 * is three box passes of a radius from Gwosdek et al., computed in float32 as Pillow does.
 */
import { eachRow, sameShape, type Between, type Raster } from '../raster.js';

const f = Math.fround;

/** One line of `length` samples at `stride` apart, blurred from `input` into `output` (may not alias). */
function blurLine(input: Uint8Array, output: Uint8Array, start: number, stride: number, length: number, radius: number, ww: number, fw: number): void {
  const lastx = length - 1;
  const at = (x: number) => input[start + x * stride]!;
  const edgeA = Math.min(radius + 1, length);
  const edgeB = Math.max(length - radius - 1, 0);
  // Sums stay below 2^32 (255 x line) and products below 2^53: plain numbers are exact; >>> 0 is UINT32's wrap.
  let acc = at(0) * (radius + 1);
  for (let x = 0; x < edgeA - 1; x++) acc += at(x);
  acc += at(lastx) * (radius - edgeA + 1);
  const save = (x: number, left: number, right: number) => {
    const bulk = (acc * ww + (at(left) + at(right)) * fw) >>> 0;
    output[start + x * stride] = ((bulk + (1 << 23)) >>> 0) >>> 24 & 0xff;
  };
  const step = (x: number, subtract: number, add: number, left: number, right: number) => {
    acc += at(add) - at(subtract);
    save(x, left, right);
  };
  if (edgeA <= edgeB) {
    for (let x = 0; x < edgeA; x++) step(x, 0, x + radius, 0, x + radius + 1);
    for (let x = edgeA; x < edgeB; x++) step(x, x - radius - 1, x + radius, x - radius - 1, x + radius + 1);
    for (let x = edgeB; x <= lastx; x++) step(x, x - radius - 1, lastx, x - radius - 1, lastx);
  } else {
    for (let x = 0; x < edgeB; x++) step(x, 0, x + radius, 0, x + radius + 1);
    for (let x = edgeB; x < edgeA; x++) step(x, 0, lastx, 0, lastx);
    for (let x = edgeA; x <= lastx; x++) step(x, x - radius - 1, lastx, x - radius - 1, lastx);
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
