/**
 * Loads the optional native ring-blur addon (native/, built by node-gyp at `npm ci` / `npm run build:native`).
 * It is optional: if it was not built (no compiler, `--ignore-scripts`) or will not load, `native` is undefined,
 * `nativeUnavailable` says why, and callers use the TypeScript kernel. PP_RING_BLUR=ts skips it on purpose.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface NativeRingBlur {
  /** Blurs src into dst on the calling thread. */
  blurSync(src: Uint8Array, dst: Uint8Array, width: number, height: number, channels: number): void;
  /** Blurs src into dst on the libuv threadpool, rows split into `parts` jobs; neither may be touched until it settles. */
  blur(src: Uint8Array, dst: Uint8Array, width: number, height: number, channels: number, parts?: number): Promise<void>;
  /** Blurs `image` over itself on the libuv threadpool (three rows of scratch, no second image); untouchable until it settles. */
  blurInPlace(image: Uint8Array, width: number, height: number, channels: number): Promise<void>;
  /** The instruction set the kernel was dispatched to: "avx2", "sse2" or "generic". */
  readonly isa: string;
  /**
   * Pillow's 3x3/5x5 ImageFilter.Kernel (native/kernel.c) into dst, which must already hold a copy of src (the border
   * stays as it is); `weights` divided by the scale in float32, `offset` Pillow's plus 0.5. Absent from older builds.
   */
  convolve?(src: Uint8Array, dst: Uint8Array, width: number, height: number, channels: number, weights: Float32Array, offset: number, parts?: number): Promise<void>;
}

/** Where node-gyp leaves the addon: native/build/Release, from both src/core/ring-blur and dist/core/ring-blur. */
export const addonPath = fileURLToPath(new URL('../../../native/build/Release/ring_blur.node', import.meta.url));

function load(): { native?: NativeRingBlur; reason?: string } {
  if (process.env.PP_RING_BLUR === 'ts') return { reason: 'PP_RING_BLUR=ts' };
  if (!existsSync(addonPath)) return { reason: `not built (${addonPath} is missing; run npm run build:native)` };
  try {
    const addon = createRequire(import.meta.url)(addonPath) as NativeRingBlur;
    if (typeof addon.blur !== 'function' || typeof addon.blurSync !== 'function' || typeof addon.blurInPlace !== 'function') {
      return { reason: `${addonPath} is not the ring-blur addon, or an old build of it (run npm run build:native)` };
    }
    return { native: addon };
  } catch (error) {
    return { reason: `failed to load: ${(error as Error).message}` };
  }
}

const loaded = load();
export const native: NativeRingBlur | undefined = loaded.native;
/** Why the addon is not used, or undefined when it is. */
export const nativeUnavailable: string | undefined = loaded.reason;
