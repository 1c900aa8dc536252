/**
 * Pillow's ImageFilter.BLUR, bit for bit: a 5x5 kernel of ones on the outer ring and zeros inside, divided by 16,
 * rounded half up, with the 2-pixel border copied unchanged (Pillow's Filter.c does exactly this).
 * The ring is the 5x5 box minus the 3x3 box: per output, two full 5-tall column sums (the left and right edges) plus
 * three 2-tall ones (the top and bottom edges), all computed once per row, so each output costs a few additions.
 * libvips' conv computes in float and rounds half to even, which differs from Pillow on 1 pixel in 16.
 *
 * Two kernels compute the same bytes:
 * - native/ (C, vectorised by GCC, AVX2 picked at run time on x86-64), run on the libuv threadpool by ringBlurAsync;
 *   about 3-4 ms for 2560x1600 RGB, off the event loop. It is built by `npm ci` where a C compiler exists.
 * - ./typescript.ts (pure TypeScript, four bytes per 32-bit operation), used by ringBlur, and by
 *   ringBlurAsync when the addon is missing, in bands that give the event loop a turn in between.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { native, nativeUnavailable } from './native.js';
import { blurRows } from './typescript.js';

/** Bytes per band when ringBlurAsync runs the TypeScript kernel: a few milliseconds of work between event-loop turns. */
const TS_BAND_BYTES = 1 << 19;

function check(src: Uint8Array, width: number, height: number, channels: number): number {
  for (const [name, value] of [['width', width], ['height', height], ['channels', channels]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`ringBlur: ${name} must be a positive integer, got ${value}`);
  }
  const length = width * height * channels;
  if (src.length < length) throw new RangeError(`ringBlur: ${src.length} bytes given for ${width}x${height}x${channels}`);
  return length;
}

/** Bytes past width*height*channels, if src has any, are copied unchanged (as before). */
function copyTail(src: Uint8Array, out: Uint8Array, length: number): void {
  if (src.length > length) out.set(src.subarray(length), length);
}

/**
 * Blurs interleaved 8-bit pixels (`channels` per pixel) on the calling thread with the TypeScript kernel and returns a
 * new array; `src` is not modified. The reference for ringBlurAsync, and what it falls back to.
 */
export function ringBlur(src: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const length = check(src, width, height, channels);
  const out = new Uint8Array(src.length);
  blurRows(src, out, width, height, channels, 0, height);
  copyTail(src, out, length);
  return out;
}

export interface RingBlurAsyncOptions {
  /** Threadpool jobs to split the rows into (native kernel only); 1 by default. */
  parts?: number;
  /** 'typescript' runs the banded TypeScript kernel even when the addon is built (tests, comparisons). */
  kernel?: 'auto' | 'typescript';
}

/**
 * The same bytes as ringBlur, without holding the event loop: the native kernel on the libuv threadpool when the addon
 * is built, else the TypeScript kernel in bands of about 0.5 MB with an event-loop turn between them.
 * `src` must not be modified until the promise settles. Resolves to a new Buffer.
 */
export async function ringBlurAsync(src: Uint8Array, width: number, height: number, channels: number, options: RingBlurAsyncOptions = {}): Promise<Buffer> {
  const length = check(src, width, height, channels);
  const out = Buffer.allocUnsafe(src.length);
  copyTail(src, out, length);
  if (native && options.kernel !== 'typescript') {
    await native.blur(src, out, width, height, channels, options.parts ?? 1);
    return out;
  }
  const bandRows = Math.max(1, Math.floor(TS_BAND_BYTES / (width * channels)));
  for (let y = 0; y < height; y += bandRows) {
    if (y > 0) await nextTurn();
    blurRows(src, out, width, height, channels, y, Math.min(height, y + bandRows));
  }
  return out;
}

/**
 * The same bytes as ringBlurAsync, written over `image` itself: for a caller that owns the decoded pixels and only
 * needs the blurred ones (the seed route). It saves allocating and first touching a second image per request: 12 MB
 * for 2560x1600 RGB, which page-faults in anew each time once the allocator has handed freed memory back to the
 * kernel (measured 55-60 ms of CPU a request on this machine's VM, against 3 ms for the blur; docs/benchmarks.md).
 * Resolves to `image`, which must not be touched until then. Without the addon it blurs a copy back into it.
 */
export async function ringBlurInPlaceAsync(image: Uint8Array, width: number, height: number, channels: number): Promise<Uint8Array> {
  check(image, width, height, channels);
  if (native) {
    await native.blurInPlace(image, width, height, channels);
    return image;
  }
  image.set(await ringBlurAsync(image, width, height, channels, { kernel: 'typescript' }));
  return image;
}

/** Which kernel ringBlurAsync runs, for logs and diagnostics: e.g. "native (avx2, threadpool)" or "typescript (...)". */
export const ringBlurKernel: string = native ? `native (${native.isa}, threadpool)` : `typescript (native addon ${nativeUnavailable})`;
