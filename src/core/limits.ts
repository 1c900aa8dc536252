/** Every limit pixelpress enforces, with its default and the abuse it stops. */

export interface Limits {
  /** Bytes of one upload, counted while streaming. Stops memory exhaustion by huge bodies (imaginary has no cap). */
  maxUploadBytes: number;
  /** Pixels of the input, read from the header before decoding. Stops decompression bombs (a 1 MB PNG can declare 400 MP). */
  maxInputPixels: number;
  /** Frames (or PDF pages) declared by an input, checked from the header. An animation written as GIF or WebP has
   *  every frame decoded and processed, so the work scales with the count: a 2 MB GIF can declare thousands of frames. */
  maxFrames: number;
  /** Pixels across all frames (width x frame height x frames), of a declared animation (from its header, before
   *  decoding) and of an animated output (checked on the first processed frame, before the others): the same bomb
   *  spread over frames, or grown by a resize. The decoded frames are held at once, 4 bytes a pixel: 400 MB at most. */
  maxAnimationPixels: number;
  /** Bytes of image metadata (PNG text, ICC and EXIF chunks inflated; WebP/JPEG metadata segments; TIFF tag data as
   *  libtiff reads it), per image. Stops metadata bombs: a 1 MB PNG with 50 zTXt chunks inflates to 1 GB in libvips'
   *  header read, and a 4 MB TIFF whose 2,000 tags share one 4 MB block costs seconds, before any pixel limit applies. */
  maxMetadataBytes: number;
  /** Width or height of any output. Stops a small request (zoom, enlarge) from asking for a giant allocation. */
  maxOutputDimension: number;
  /** Pixels of any output (width x height). Same attack as above, through both sides at once. */
  maxOutputPixels: number;
  /** Steps in one /pipeline. Stops one request from chaining unbounded work (imaginary allows 10). */
  maxPipelineSteps: number;
  /** Seconds libvips may spend on one image (sharp `timeout`). Stops pathological inputs from holding a worker. */
  processTimeoutSeconds: number;
  /** Output pixels above which type=auto answers WebP instead of AVIF. Stops a browser's `Accept: image/avif` from
   *  turning a cheap-looking request into seconds of CPU: AVIF costs about 0.35 CPU-s per MP at the default speed. */
  maxAutoAvifPixels: number;
}

/** How strictly inputs are decoded; not numbers, so kept apart from the limits. */
export interface DecodePolicy {
  /** Decode truncated or corrupt data as far as it goes (grey where data is missing) instead of answering 422. */
  lenient: boolean;
  /** Accept SVG input (always through the SVG guard). */
  svg: boolean;
}

export const defaultDecodePolicy: Readonly<DecodePolicy> = Object.freeze({ lenient: false, svg: true });

export const defaultLimits: Readonly<Limits> = Object.freeze({
  maxUploadBytes: 50 * 1024 * 1024,
  maxInputPixels: 50_000_000,
  maxFrames: 1_000,
  maxAnimationPixels: 100_000_000,
  maxMetadataBytes: 8 * 1024 * 1024,
  maxOutputDimension: 16_383,
  maxOutputPixels: 50_000_000,
  maxPipelineSteps: 10,
  processTimeoutSeconds: 30,
  // 2560x1920 (4.9 MP) still gets AVIF, at about 1.7 CPU-s.
  maxAutoAvifPixels: 5_000_000,
});

/** Environment variable for each limit, so the README, the server and the tests agree on one table. */
export const limitEnv: Readonly<Record<keyof Limits, string>> = Object.freeze({
  maxUploadBytes: 'PP_MAX_UPLOAD_BYTES',
  maxInputPixels: 'PP_MAX_INPUT_PIXELS',
  maxFrames: 'PP_MAX_FRAMES',
  maxAnimationPixels: 'PP_MAX_ANIMATION_PIXELS',
  maxMetadataBytes: 'PP_MAX_METADATA_BYTES',
  maxOutputDimension: 'PP_MAX_OUTPUT_DIMENSION',
  maxOutputPixels: 'PP_MAX_OUTPUT_PIXELS',
  maxPipelineSteps: 'PP_MAX_PIPELINE_STEPS',
  processTimeoutSeconds: 'PP_PROCESS_TIMEOUT_SECONDS',
  maxAutoAvifPixels: 'PP_MAX_AUTO_AVIF_PIXELS',
});

export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const limits = { ...defaultLimits, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value <= 0 || !Number.isInteger(value)) {
      throw new TypeError(`Expected positive integer for limit ${name} but received ${String(value)}`);
    }
  }
  return limits;
}
