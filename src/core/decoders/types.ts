/** Shapes shared by the decoders' main-thread side and their worker: plain data only, so they cross postMessage. */

/** Input formats that sharp's bundled libvips cannot decode and this module does. */
export type ContainerFormat = 'heic' | 'pdf' | 'bmp' | 'ico';

/** What a container header says, read without decoding a pixel. */
export interface ContainerInfo {
  format: ContainerFormat;
  /** Size as displayed (after HEIF irot; a PDF page's box at 72 dpi, after /Rotate). */
  width: number;
  height: number;
  /** Pages of a PDF, images in an ICO; 1 otherwise. */
  pages: number;
  /** Whether the decoded pixels may carry alpha (HEIF alpha item, 32-bit BMP, ICO, PDF always: it is rendered on transparency). */
  hasAlpha: boolean;
  /** Embedded thumbnails (HEIF), displayed size; the decoder uses one when it is at least as large as the target. */
  thumbnails: readonly { width: number; height: number }[];
}

/** One decode, as the worker receives it. */
export interface DecodeTask {
  format: ContainerFormat;
  data: Uint8Array;
  /** PDF page, 1-based. */
  page: number;
  /** The box the output is fitted inside, if known: PDF renders straight at that size, HEIF may use a thumbnail that covers it. */
  targetWidth: number | undefined;
  targetHeight: number | undefined;
  /** 'inside': the output fits in the box (fit, thumbnail); 'cover': it covers the box and is cropped (smartcrop, crop). */
  targetFit: 'inside' | 'cover';
  /** Pixel limit on what is decoded (the worker re-checks what the codec itself reports). */
  maxPixels: number;
  /** Pages a PDF may have (the frame limit). */
  maxPages: number;
  /** Bytes of WebAssembly memory the codec may grow to. */
  wasmMemoryBytes: number;
  /** Only read the header inside the codec (PDF: page count and box), decode nothing. */
  infoOnly: boolean;
}

/** Raw pixels ready for sharp(data, { raw: { width, height, channels } }). */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
  /** What was decoded: the primary image, an embedded thumbnail, or a page rendered at a scale. */
  source: 'primary' | 'thumbnail' | 'page' | 'entry';
  /** The ICC profile the pixels are in (an iPhone's Display P3), not converted: WorkingImage.fromRaw keeps it. */
  icc?: Uint8Array | undefined;
}

export type DecodeReply =
  | { ok: true; info: ContainerInfo; image: RawImage | undefined }
  | { ok: false; code: 'PP_UNSUPPORTED_MEDIA' | 'PP_UNDECODABLE' | 'PP_TOO_MANY_PIXELS' | 'PP_INVALID_PARAM'; detail: string };
