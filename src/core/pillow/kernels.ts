/**
 * Pillow's fixed 3x3 and 5x5 kernels (ImageFilter.CONTOUR, DETAIL, …), bit for bit: Pillow divides the kernel by the
 * scale in float32, applies its first row to the image row below the pixel (flipped top to bottom, not left to right:
 * EMBOSS shows it), adds 0.5 to the offset for rounding, sums each kernel row in float32 in its own order, clips and
 * truncates, and copies the border (1 pixel for 3x3, 2 for 5x5) unchanged. Math.fround at every step reproduces its
 * single-precision arithmetic exactly (checked against Debian's Pillow 9.4).
 */
import { eachRow, sameShape, type Between, type Raster } from './raster.js';

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

function clip8(value: number): number {
  if (value <= 0) return 0;
  if (value >= 255) return 255;
  return Math.trunc(value);
}

export async function convolve(src: Raster, kernel: Kernel, between: Between): Promise<Raster> {
  const { width, height, channels, data } = src;
  const { size } = kernel;
  const half = size >> 1;
  // Divided by the scale in float32, as ImagingFilter does.
  const k = kernel.weights.map((w) => f(f(w) / f(kernel.scale)));
  const offset = f(f(kernel.offset) + 0.5);
  const out = new Uint8Array(data);
  const stride = width * channels;
  if (width < size || height < size) return sameShape(src, out);
  await eachRow(src, between, (y) => {
    if (y < half || y >= height - half) return;
    for (let x = half; x < width - half; x++) {
      for (let c = 0; c < channels; c++) {
        let ss = offset;
        // Kernel row 0 meets the image row below (y + half), as in Pillow's KERNEL1x3/1x5 calls.
        for (let row = 0; row < size; row++) {
          const base = (y + half - row) * stride + c;
          let t = f(data[base + (x - half) * channels]! * k[row * size]!);
          for (let col = 1; col < size; col++) t = f(t + f(data[base + (x - half + col) * channels]! * k[row * size + col]!));
          ss = f(ss + t);
        }
        out[(y * width + x) * channels + c] = clip8(ss);
      }
    }
  });
  return sameShape(src, out);
}
