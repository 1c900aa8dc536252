/**
 * Pillow's fixed 3x3 and 5x5 kernels (ImageFilter.CONTOUR, DETAIL, …), bit for bit: Pillow divides the kernel by the
 * scale in float32, applies its first row to the image row below the pixel (flipped top to bottom, not left to right:
 * EMBOSS shows it), adds 0.5 to the offset for rounding, sums each kernel row in float32 in its own order, clips and
 * truncates, and copies the border (1 pixel for 3x3, 2 for 5x5) unchanged. Math.fround at every step reproduces its
 * single-precision arithmetic exactly (checked against Debian's Pillow 9.4).
 */
import { native } from '../ring-blur/native.js';
import { eachRow, sameShape, type Between, type Raster } from '../raster.js';

export interface Kernel {
  readonly size: 3 | 5;
  readonly weights: readonly number[];
  readonly scale: number;
  readonly offset: number;
}

/** ImageFilter's built-in kernels, as Pillow declares them. */
export const builtinKernels = {
  contour: { size: 3, weights: [-1, -1, -1, -1, 8, -1, -1, -1, -1], scale: 1, offset: 255 },
  detail: { size: 3, weights: [0, -1, 0, -1, 10, -1, 0, -1, 0], scale: 6, offset: 0 },
  edge_enhance: { size: 3, weights: [-1, -1, -1, -1, 10, -1, -1, -1, -1], scale: 2, offset: 0 },
  edge_enhance_more: { size: 3, weights: [-1, -1, -1, -1, 9, -1, -1, -1, -1], scale: 1, offset: 0 },
  emboss: { size: 3, weights: [-1, 0, 0, 0, 1, 0, 0, 0, 0], scale: 1, offset: 128 },
  find_edges: { size: 3, weights: [-1, -1, -1, -1, 8, -1, -1, -1, -1], scale: 1, offset: 0 },
  sharpen: { size: 3, weights: [-2, -2, -2, -2, 32, -2, -2, -2, -2], scale: 16, offset: 0 },
  smooth: { size: 3, weights: [1, 1, 1, 1, 5, 1, 1, 1, 1], scale: 13, offset: 0 },
  smooth_more: {
    size: 5,
    weights: [1, 1, 1, 1, 1, 1, 5, 5, 5, 1, 1, 5, 44, 5, 1, 1, 5, 5, 5, 1, 1, 1, 1, 1, 1],
    scale: 100,
    offset: 0,
  },
} as const satisfies Record<string, Kernel>;

const f = Math.fround;

/** One 3x3 output row: samples run left to right across bands, as Pillow's per-band sums in its order. */
function row3(d: Uint8Array, out: Uint8Array, y: number, stride: number, channels: number, k: readonly number[], offset: number): void {
  const [k0, k1, k2, k3, k4, k5, k6, k7, k8] = k as [number, number, number, number, number, number, number, number, number];
  const below = (y + 1) * stride;
  const here = y * stride;
  const above = (y - 1) * stride;
  for (let i = channels; i < stride - channels; i++) {
    const l = i - channels;
    const r = i + channels;
    let ss = f(offset + f(f(f(d[below + l]! * k0) + f(d[below + i]! * k1)) + f(d[below + r]! * k2)));
    ss = f(ss + f(f(f(d[here + l]! * k3) + f(d[here + i]! * k4)) + f(d[here + r]! * k5)));
    ss = f(ss + f(f(f(d[above + l]! * k6) + f(d[above + i]! * k7)) + f(d[above + r]! * k8)));
    out[here + i] = ss <= 0 ? 0 : ss >= 255 ? 255 : ss | 0;
  }
}

/** One 5x5 output row, the same way with five taps per kernel row. */
function row5(d: Uint8Array, out: Uint8Array, y: number, stride: number, channels: number, k: readonly number[], offset: number): void {
  const c2 = 2 * channels;
  for (let i = c2; i < stride - c2; i++) {
    let ss = offset;
    for (let row = 0; row < 5; row++) {
      const base = (y + 2 - row) * stride + i;
      const kk = row * 5;
      ss = f(ss + f(f(f(f(f(d[base - c2]! * k[kk]!) + f(d[base - channels]! * k[kk + 1]!)) + f(d[base]! * k[kk + 2]!)) + f(d[base + channels]! * k[kk + 3]!)) + f(d[base + c2]! * k[kk + 4]!)));
    }
    out[y * stride + i] = ss <= 0 ? 0 : ss >= 255 ? 255 : ss | 0;
  }
}

/** `useNative: false` runs the TypeScript rows even when the addon is built (the test holds the two to the same bytes). */
export async function convolve(src: Raster, kernel: Kernel, between: Between, useNative = true): Promise<Raster> {
  const { width, height, channels, data } = src;
  const { size } = kernel;
  const half = size >> 1;
  // Divided by the scale in float32, as ImagingFilter does.
  const k = kernel.weights.map((w) => f(f(w) / f(kernel.scale)));
  const offset = f(f(kernel.offset) + 0.5);
  // Starts as a copy: the border rows and columns stay as they are.
  const out = new Uint8Array(data);
  const stride = width * channels;
  if (width < size || height < size) return sameShape(src, out);
  // The native kernel (native/kernel.c, the same float32 steps in C) on the libuv threadpool when it is built: about
  // several times faster than the TypeScript rows below, which stay as the fallback and the readable statement of the arithmetic.
  if (useNative && native?.convolve) {
    await native.convolve(data, out, width, height, channels, Float32Array.from(k), offset);
    between();
    return sameShape(src, out);
  }
  const row = size === 3 ? row3 : row5;
  await eachRow(between, (y) => {
    if (y >= half && y < height - half) row(data, out, y, stride, channels, k, offset);
  }, height);
  return sameShape(src, out);
}
