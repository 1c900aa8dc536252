/**
 * Worker side of HEIC/HEIF: libheif (with libde265) built for WebAssembly by libheif-js, driven through its C API so
 * that the primary image, Apple's grids, irot/imir and alpha are libheif's own handling, and an embedded thumbnail
 * can be chosen instead of the full image.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DecodeFailure } from './failure.js';
import { targetScale } from './target.js';
import type { DecodeTask, RawImage } from './types.js';

/** The part of the Emscripten module this file calls; everything is a pointer or an integer. */
interface Libheif {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  HEAPU32: Uint32Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _heif_context_alloc(): number;
  _heif_context_free(ctx: number): void;
  _heif_context_read_from_memory_without_copy(err: number, ctx: number, data: number, size: number, options: number): void;
  _heif_context_get_primary_image_handle(err: number, ctx: number, out: number): void;
  _heif_image_handle_release(handle: number): void;
  _heif_image_handle_get_width(handle: number): number;
  _heif_image_handle_get_height(handle: number): number;
  _heif_image_handle_has_alpha_channel(handle: number): number;
  _heif_image_handle_get_number_of_thumbnails(handle: number): number;
  _heif_image_handle_get_list_of_thumbnail_IDs(handle: number, ids: number, count: number): number;
  _heif_image_handle_get_thumbnail(err: number, handle: number, id: number, out: number): void;
  _heif_decoding_options_alloc(): number;
  _heif_decoding_options_free(options: number): void;
  _heif_decode_image(err: number, handle: number, out: number, colorspace: number, chroma: number, options: number): void;
  _heif_image_get_plane_readonly(image: number, channel: number, stride: number): number;
  _heif_image_get_width(image: number, channel: number): number;
  _heif_image_get_height(image: number, channel: number): number;
  _heif_image_release(image: number): void;
  _heif_image_handle_get_raw_color_profile_size(handle: number): number;
  _heif_image_handle_get_raw_color_profile(err: number, handle: number, out: number): void;
}

/** An ICC profile larger than this is not a colour profile but a way to make us copy memory. */
const maxIccBytes = 4 * 2 ** 20;

// libheif's enums (heif.h): RGB colour space, interleaved 8-bit RGB(A), the interleaved channel.
const colorspaceRgb = 1;
const chromaRgb = 10;
const chromaRgba = 11;
const channelInterleaved = 10;

/** Drop this thread's instance after a failure the codec did not handle itself; the next decode makes a new one. */
export function forgetLibheif(): void {
  loading = undefined;
}

let loading: Promise<Libheif> | undefined;

/** Load and instantiate once per worker; a worker whose codec failed badly is replaced, never reused. */
function libheif(): Promise<Libheif> {
  loading ??= new Promise((resolve, reject) => {
    const require = createRequire(import.meta.url);
    const wasmBinary = readFileSync(require.resolve('libheif-js/libheif-wasm/libheif.wasm'));
    const factory = require('libheif-js/libheif-wasm/libheif.js') as (options: object) => Libheif;
    let module: Libheif | undefined;
    let ready = false;
    module = factory({ wasmBinary, onRuntimeInitialized: () => (module ? resolve(module) : (ready = true)), onAbort: reject });
    if (ready) resolve(module);
  });
  return loading;
}

/** A scratch area for out-parameters and the heif_error each call returns (code, subcode, message pointer). */
class Scratch {
  readonly err: number;
  readonly out: number;
  constructor(private readonly m: Libheif) {
    this.err = m._malloc(32);
    this.out = m._malloc(16);
  }
  check(what: string): void {
    const code = this.m.HEAP32[this.err >> 2]!;
    if (code === 0) return;
    const message = cString(this.m, this.m.HEAPU32[(this.err + 8) >> 2]!);
    throw new DecodeFailure('PP_UNDECODABLE', `The HEIF image could not be decoded (${what}): ${message}`);
  }
  pointer(): number {
    return this.m.HEAPU32[this.out >> 2]!;
  }
  free(): void {
    this.m._free(this.err);
    this.m._free(this.out);
  }
}

function cString(m: Libheif, ptr: number): string {
  if (!ptr) return 'unknown error';
  let end = ptr;
  while (m.HEAPU8[end] !== 0 && end - ptr < 500) end++;
  return Buffer.from(m.HEAPU8.subarray(ptr, end)).toString('utf8');
}

/**
 * The smallest thumbnail at least as large as the output will be, if the file has one: the primary image scaled to
 * the target box as a PDF page is. A box that needs the image at full size or larger needs the image itself.
 */
function chooseThumbnail(m: Libheif, s: Scratch, primary: number, task: DecodeTask): number | undefined {
  const fullWidth = m._heif_image_handle_get_width(primary);
  const fullHeight = m._heif_image_handle_get_height(primary);
  const scale = targetScale(fullWidth, fullHeight, task);
  if (scale === undefined) return undefined;
  if (scale >= 1) return undefined;
  const needWidth = Math.round(fullWidth * scale);
  const needHeight = Math.round(fullHeight * scale);
  const count = m._heif_image_handle_get_number_of_thumbnails(primary);
  if (count <= 0) return undefined;
  const ids = m._malloc(4 * count);
  let best: { handle: number; pixels: number } | undefined;
  try {
    const listed = m._heif_image_handle_get_list_of_thumbnail_IDs(primary, ids, count);
    for (let i = 0; i < listed; i++) {
      m._heif_image_handle_get_thumbnail(s.err, primary, m.HEAPU32[(ids >> 2) + i]!, s.out);
      if (m.HEAP32[s.err >> 2] !== 0) continue;
      const handle = s.pointer();
      const width = m._heif_image_handle_get_width(handle);
      const height = m._heif_image_handle_get_height(handle);
      // One pixel short is rounding (an encoder floors 480x320/3 to 160x106), not a smaller image.
      const covers = width >= needWidth - 1 && height >= needHeight - 1;
      if (covers && (!best || width * height < best.pixels)) {
        if (best) m._heif_image_handle_release(best.handle);
        best = { handle, pixels: width * height };
      } else {
        m._heif_image_handle_release(handle);
      }
    }
  } finally {
    m._free(ids);
  }
  return best?.handle;
}

/** The primary image's ICC profile (thumbnails share its colours), if it has one of a sane size. */
function iccProfile(m: Libheif, s: Scratch, handle: number): Uint8Array | undefined {
  const size = m._heif_image_handle_get_raw_color_profile_size(handle);
  if (size <= 0 || size > maxIccBytes) return undefined;
  const ptr = m._malloc(size);
  try {
    m._heif_image_handle_get_raw_color_profile(s.err, handle, ptr);
    return m.HEAP32[s.err >> 2] === 0 ? m.HEAPU8.slice(ptr, ptr + size) : undefined;
  } finally {
    m._free(ptr);
  }
}

export async function decodeHeif(task: DecodeTask): Promise<RawImage> {
  const m = await libheif();
  const s = new Scratch(m);
  const ctx = m._heif_context_alloc();
  const data = m._malloc(task.data.length);
  const handles: number[] = [];
  let image = 0;
  let options = 0;
  try {
    if (!data) throw new DecodeFailure('PP_TOO_MANY_PIXELS', 'The HEIF file does not fit in the decoder memory limit');
    m.HEAPU8.set(task.data, data);
    m._heif_context_read_from_memory_without_copy(s.err, ctx, data, task.data.length, 0);
    s.check('reading the container');
    m._heif_context_get_primary_image_handle(s.err, ctx, s.out);
    s.check('finding the primary image');
    const primary = s.pointer();
    handles.push(primary);
    const thumbnail = chooseThumbnail(m, s, primary, task);
    const handle = thumbnail ?? primary;
    if (thumbnail) handles.push(thumbnail);
    const width = m._heif_image_handle_get_width(handle);
    const height = m._heif_image_handle_get_height(handle);
    if (width * height > task.maxPixels) {
      throw new DecodeFailure('PP_TOO_MANY_PIXELS', `HEIF image is ${width}x${height}, over the limit of ${task.maxPixels} pixels`);
    }
    const alpha = m._heif_image_handle_has_alpha_channel(handle) !== 0;
    const channels = alpha ? 4 : 3;
    // Defaults apply irot, imir and clap, as the file asks to be displayed.
    options = m._heif_decoding_options_alloc();
    m._heif_decode_image(s.err, handle, s.out, colorspaceRgb, alpha ? chromaRgba : chromaRgb, options);
    s.check('decoding');
    image = s.pointer();
    const plane = m._heif_image_get_plane_readonly(image, channelInterleaved, s.out);
    const stride = m.HEAP32[s.out >> 2]!;
    const outWidth = m._heif_image_get_width(image, channelInterleaved);
    const outHeight = m._heif_image_get_height(image, channelInterleaved);
    if (!plane || outWidth <= 0 || outHeight <= 0) throw new DecodeFailure('PP_UNDECODABLE', 'The HEIF image decoded to no pixels');
    const row = outWidth * channels;
    const out = new Uint8Array(row * outHeight);
    // Rows may be padded in libheif's plane; sharp wants them packed.
    for (let y = 0; y < outHeight; y++) out.set(m.HEAPU8.subarray(plane + y * stride, plane + y * stride + row), y * row);
    return { data: out, width: outWidth, height: outHeight, channels, source: thumbnail ? 'thumbnail' : 'primary', icc: iccProfile(m, s, primary) };
  } finally {
    if (image) m._heif_image_release(image);
    if (options) m._heif_decoding_options_free(options);
    for (const h of handles) m._heif_image_handle_release(h);
    m._heif_context_free(ctx);
    if (data) m._free(data);
    s.free();
  }
}
