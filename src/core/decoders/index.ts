/**
 * Input formats sharp's bundled libvips cannot read: HEIC/HEIF (HEVC), PDF and PDF-compatible Illustrator files, BMP
 * and ICO. Headers are read first, on this thread and in linear time, so the limits apply before any pixel is decoded;
 * decoding runs in a bounded worker pool with a memory cap and the request's deadline. The result is raw pixels for
 * sharp(data, { raw }), so the rest of the pipeline does not know where they came from.
 */
import sharp from 'sharp';
import { ImageError } from '../errors.js';
import type { Limits } from '../limits.js';
import type { Deadline } from '../encoders/deadline.js';
import { isBmp, isIco, readBmpHeader, readIcoHeader } from './bitmap-header.js';
import { isHeifContainer, readHeifHeader } from './heif-header.js';
import type { DecoderPoolOptions } from './pool.js';
import type { ContainerFormat, ContainerInfo, DecodeTask, RawImage } from './types.js';

export type { ContainerFormat, ContainerInfo, RawImage } from './types.js';
export type { DecoderPoolOptions } from './pool.js';

/**
 * The pool (and piscina) load on the first decode: every process that imports core, the encoder child included, would
 * otherwise pay 100-200 ms of start-up for a pool most of them never use.
 */
let poolModule: Promise<typeof import('./pool.js')> | undefined;
const loadPool = () => (poolModule ??= import('./pool.js'));
/** Settings made before the pool module loads, applied when it does. */
let pendingPoolOptions: Partial<DecoderPoolOptions> = {};

export function configureDecoderPool(options: Partial<DecoderPoolOptions>): void {
  pendingPoolOptions = { ...pendingPoolOptions, ...options };
  if (poolModule) void poolModule.then((pool) => pool.configureDecoderPool(options));
}

/** End every decoder worker (server shutdown, tests); nothing to do if none was ever started. */
export async function closeDecoderPool(): Promise<void> {
  if (poolModule) await (await poolModule).closeDecoderPool();
}

/** Decoder threads alive now, for tests that prove a hostile decode's worker was replaced. */
export async function decoderThreads(): Promise<readonly { threadId: number }[]> {
  return poolModule ? (await poolModule).decoderThreads() : [];
}

export interface DecodeOptions {
  limits: Limits;
  /** PDF page, 1-based (default 1). */
  page?: number;
  /**
   * The box the output is fitted inside, if known: a PDF page is rendered straight at that size, and a HEIF thumbnail
   * is used when it covers it. Either side alone is enough; neither means full size.
   */
  targetWidth?: number;
  targetHeight?: number;
  /** 'inside' (default): the output fits in the box, as fit and thumbnail do; 'cover': it covers the box, as smartcrop does. */
  targetFit?: 'inside' | 'cover';
  /** The request's deadline (and through it the client's abort signal). */
  deadline?: Deadline;
  /** Aborts the decode, e.g. when the client leaves; without a deadline, limits.processTimeoutSeconds applies. */
  signal?: AbortSignal;
}

const pdfSignature = Buffer.from('%PDF-');
/** PDF readers accept the signature anywhere in the first 1024 bytes (ISO 32000-1, Annex H). */
const pdfSignatureWindow = 1024;
const maxWasmMemory = 2 ** 31;

/** Which of this module's formats the bytes are, from their signature alone; undefined leaves them to sharp. */
export function sniffContainer(data: Buffer): ContainerFormat | undefined {
  if (data.subarray(0, pdfSignatureWindow).includes(pdfSignature)) return 'pdf';
  if (isBmp(data)) return 'bmp';
  if (isIco(data)) return 'ico';
  // HEIF of any codec has the same container; only HEVC is ours (sharp reads AVIF). A corrupt header is ours to refuse.
  if (isHeifContainer(data)) {
    try {
      return readHeifHeader(data) ? 'heic' : undefined;
    } catch {
      return 'heic';
    }
  }
  return undefined;
}

/**
 * The header of one of this module's formats, checked against the limits: undefined if the bytes are not one of them.
 * PDF needs PDFium to find its page box (cross-reference streams, object streams), so it is read in the worker pool
 * without rendering; the others are read here.
 */
export async function probeContainer(data: Buffer, options: DecodeOptions): Promise<ContainerInfo | undefined> {
  const format = sniffContainer(data);
  if (!format) return undefined;
  const info = format === 'pdf' ? await inWorker(format, data, options, true).then((r) => r.info) : readHeader(format, data);
  checkLimits(info, options.limits);
  return info;
}

/** Decode to raw pixels (after probing, so every limit is checked first). Throws ImageError with a stable code. */
export async function decodeToRaw(data: Buffer, options: DecodeOptions): Promise<RawImage & { info: ContainerInfo }> {
  const format = sniffContainer(data);
  if (!format) throw new ImageError('PP_UNSUPPORTED_MEDIA', 'The file is not HEIC, PDF, BMP or ICO');
  let info: ContainerInfo | undefined;
  if (format !== 'pdf') {
    info = readHeader(format, data);
    checkLimits(info, options.limits);
  }
  const result = await inWorker(format, data, options, false, info);
  info ??= result.info;
  checkLimits(info, options.limits);
  if (result.image) return { ...result.image, info };
  throw new ImageError('PP_UNDECODABLE', 'The image decoded to no pixels');
}

function readHeader(format: Exclude<ContainerFormat, 'pdf'>, data: Buffer): ContainerInfo {
  // Only the public fields: the decoder-specific parts (DIB header, chosen ICO entry) are the worker's business.
  const pick = ({ format, width, height, pages, hasAlpha, thumbnails }: ContainerInfo): ContainerInfo => ({ format, width, height, pages, hasAlpha, thumbnails });
  try {
    if (format === 'bmp') return pick(readBmpHeader(data));
    if (format === 'ico') return pick(readIcoHeader(data));
    const info = readHeifHeader(data);
    if (!info) throw new ImageError('PP_UNSUPPORTED_MEDIA', 'The HEIF file holds no HEVC image');
    return info;
  } catch (err) {
    // The readers check every length they follow; a read past the end that slipped through is still a corrupt header.
    if (err instanceof ImageError) throw err;
    throw new ImageError('PP_UNDECODABLE', `The ${format.toUpperCase()} header is corrupt`, { cause: err });
  }
}

/** The same checks image.ts makes for sharp's formats: pixels first, then pages (frames). */
function checkLimits(info: ContainerInfo, limits: Limits): void {
  const { width, height, pages } = info;
  if (width * height > limits.maxInputPixels) {
    throw new ImageError('PP_TOO_MANY_PIXELS', `Image is ${width}x${height} (${width * height} pixels), over the limit of ${limits.maxInputPixels} pixels`);
  }
  if (pages > limits.maxFrames) {
    throw new ImageError('PP_TOO_MANY_PIXELS', `Image declares ${pages} pages, over the limit of ${limits.maxFrames}`);
  }
}

/**
 * WebAssembly memory for one decode: room for the input (a codec may copy it), the decoded pixels several times over
 * (YUV planes, RGBA, a PDF's embedded images), and the codec's own tables. A file that needs more is refused.
 */
function wasmBudget(data: Buffer, pixels: number): number {
  return Math.min(maxWasmMemory, 128 * 2 ** 20 + 3 * data.length + 16 * pixels);
}

async function inWorker(
  format: ContainerFormat,
  data: Buffer,
  options: DecodeOptions,
  infoOnly: boolean,
  info?: ContainerInfo,
): Promise<{ info: ContainerInfo; image: RawImage | undefined }> {
  const { limits, deadline } = options;
  const page = options.page ?? 1;
  if (!Number.isInteger(page) || page < 1) throw new ImageError('PP_INVALID_PARAM', `Expected positive integer for page but received ${String(options.page)}`);
  const task: DecodeTask = {
    format,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    page,
    targetWidth: options.targetWidth,
    targetHeight: options.targetHeight,
    targetFit: options.targetFit ?? 'inside',
    maxPixels: limits.maxInputPixels,
    maxPages: limits.maxFrames,
    wasmMemoryBytes: wasmBudget(data, info ? info.width * info.height : limits.maxInputPixels),
    infoOnly,
  };
  const remainingMs = deadline ? deadline.remainingMs() : limits.processTimeoutSeconds * 1000;
  const signals = [AbortSignal.timeout(Math.max(1, Math.ceil(remainingMs)))];
  if (options.signal) signals.push(options.signal);
  const signal = AbortSignal.any(signals);
  const stopReason = () =>
    deadline?.reason() ??
    (options.signal?.aborted
      ? new ImageError('PP_CLIENT_GONE', 'The client closed the connection while its image was decoded')
      : new ImageError('PP_TIMEOUT', `Decoding the image took longer than the limit of ${limits.processTimeoutSeconds} s`));
  const pool = await loadPool();
  if (Object.keys(pendingPoolOptions).length > 0) {
    pool.configureDecoderPool(pendingPoolOptions);
    pendingPoolOptions = {};
  }
  const reply = await pool.runDecode(task, signal, stopReason);
  if (!reply.ok) {
    throw new ImageError(reply.code, reply.detail);
  }
  if ('png' in reply) {
    // An ICO whose largest entry is a PNG: sharp decodes it, under the same pixel limit.
    const { data: pixels, info: raw } = await sharp(reply.png, { limitInputPixels: limits.maxInputPixels, failOn: 'warning' })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true })
      .catch((err: unknown) => {
        throw new ImageError('PP_UNDECODABLE', 'The PNG inside the ICO could not be decoded', { cause: err });
      });
    return { info: info!, image: { data: pixels, width: raw.width, height: raw.height, channels: 4, source: 'entry' } };
  }
  return { info: reply.info ?? info!, image: reply.image };
}
