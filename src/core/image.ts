/**
 * A working image: the bytes an operation reads, either the original encoded upload (so sharp can use
 * shrink-on-load and keep the ICC profile) or raw pixels handed on by an earlier pipeline step.
 */
import sharp, { type Metadata, type OutputInfo, type Sharp, type SharpOptions } from 'sharp';
import { declaredAnimation, type Animation } from './animation.js';
import type { Deadline } from './encoders/deadline.js';
import { decodeToRaw, probeContainer, sniffContainer, type ContainerFormat, type ContainerInfo, type DecodeOptions } from './decoders/index.js';
import { ImageError } from './errors.js';
import { defaultDecodePolicy, type DecodePolicy, type Limits } from './limits.js';
import { assertSafeMetadata } from './metadata-guard.js';
import { assertSafeSvg, svgCandidateXml } from './svg-guard/index.js';

/** Input formats pixelpress accepts; libvips can load more (e.g. its own .v format), which we refuse on purpose. */
const inputFormats = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif', 'svg'] as const;
export type InputFormat = (typeof inputFormats)[number];
/** For messages that must say what would have worked. */
const inputFormatList = 'JPEG, PNG, WebP, AVIF, GIF, TIFF, HEIF, SVG, PDF, BMP or ICO';

/**
 * The formats src/core/decoders/ reads (sharp's libvips cannot) as the input format the rest of the pipeline knows,
 * which decides the default output: HEIC stays 'heif' (JPEG out); a PDF page, a BMP and an ICO default to PNG, which
 * keeps a page's transparent paper and an icon's alpha.
 */
const containerAs: Readonly<Record<ContainerFormat, InputFormat>> = { heic: 'heif', pdf: 'png', bmp: 'png', ico: 'png' };

export interface SourceTraits {
  grey: boolean;
  sixteenBit: boolean;
  /** The EXIF orientation of the pixels as stored (1 once autorotate applied it). */
  storedOrientation: number;
}

/** What the pipeline may tell the decoder about the request: its deadline, and the box and page its first step needs. */
export type DecodeHint = Omit<DecodeOptions, 'limits'>;

interface EncodedSource {
  readonly kind: 'encoded';
  readonly data: Buffer;
  /** libvips' interpretation and sample format of the upload (b-w, grey16, rgb16, srgb, cmyk; uchar, ushort). */
  readonly space: string;
  readonly depth: string;
  readonly orientation: number;
  /** Set by autorotate: the EXIF orientation is applied from now on, whatever later steps' norotation says. */
  readonly forceOrient: boolean;
  /** The animation the header declares; open() still reads the first frame only, withFrames() reads them all. */
  readonly animation: Animation | undefined;
}

interface RawSource {
  readonly kind: 'raw';
  readonly data: Buffer;
  readonly raw: { width: number; height: number; channels: 1 | 2 | 3 | 4 };
  /** Set when the pixels are an animation's frames stacked top to bottom (sharp's "toilet roll"), with their timing. */
  readonly animation?: Animation | undefined;
}

export class WorkingImage {
  private constructor(
    private readonly source: EncodedSource | RawSource,
    /** Width and height as stored, before any EXIF orientation. */
    private readonly storedWidth: number,
    private readonly storedHeight: number,
    readonly format: InputFormat,
    readonly hasAlpha: boolean,
    /**
     * The ICC profile the pixels are in, when it can be kept instead of converting to sRGB: an RGB upload's own
     * profile, or raw pixels an operation decoded without conversion. Undefined means sRGB.
     */
    readonly profile: Buffer | undefined,
    private readonly limits: Limits,
    private readonly policy: DecodePolicy,
  ) {}

  /**
   * Read the header only and refuse anything over the limits before a pixel is decoded. HEIC, PDF, BMP and ICO are
   * decoded here, off the event loop (their header is checked first, inside decodeToRaw), and go on as raw pixels.
   */
  static async fromEncoded(data: Buffer, limits: Limits, policy: DecodePolicy = defaultDecodePolicy, hint: DecodeHint = {}): Promise<WorkingImage> {
    const container = sniffContainer(data);
    if (container) {
      const raw = await decodeToRaw(data, { ...hint, limits });
      const pixels = Buffer.from(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
      const info = { width: raw.width, height: raw.height, channels: raw.channels } as OutputInfo;
      const icc = raw.icc && Buffer.from(raw.icc.buffer, raw.icc.byteOffset, raw.icc.byteLength);
      return WorkingImage.fromRaw(pixels, info, containerAs[container], limits, policy, icc);
    }
    const { meta, format } = await probe(data, limits, policy);
    // Only RGB profiles are kept: CMYK and grey inputs are converted to sRGB as every output format expects.
    const profile = meta.icc && meta.space === 'srgb' && meta.channels >= 3 ? meta.icc : undefined;
    const animation = declaredAnimation(meta);
    const source: EncodedSource = { kind: 'encoded', data, space: meta.space ?? 'srgb', depth: meta.depth ?? 'uchar', orientation: meta.orientation ?? 1, forceOrient: false, animation };
    return new WorkingImage(source, meta.width, meta.height, format, Boolean(meta.hasAlpha), profile, limits, policy);
  }

  static fromRaw(data: Buffer, info: OutputInfo, format: InputFormat, limits: Limits, policy: DecodePolicy = defaultDecodePolicy, profile?: Buffer, animation?: Animation): WorkingImage {
    const channels = info.channels as 1 | 2 | 3 | 4;
    const source: RawSource = { kind: 'raw', data, raw: { width: info.width, height: info.height, channels }, animation };
    // An operation sees one frame at a time, so the size it is told is a frame's.
    const height = animation ? animation.pageHeight : info.height;
    return new WorkingImage(source, info.width, height, format, channels === 2 || channels === 4, profile, limits, policy);
  }

  /** The frames and timing of an animation roll that steps hand on; undefined for a still image (or an upload not yet read whole). */
  get animation(): Animation | undefined {
    return this.source.kind === 'raw' ? this.source.animation : undefined;
  }

  /**
   * Every frame of an animated upload, decoded into one roll with its timing; any other image as it is. Frames are read
   * as stored: sharp cannot turn a roll a quarter turn, so an animated WebP's EXIF orientation is not applied.
   */
  async withFrames(deadline: Deadline): Promise<WorkingImage> {
    if (this.source.kind !== 'encoded' || !this.source.animation) return this;
    const declared = this.source.animation;
    // probe() checked width x frame height x frames against maxAnimationPixels; the roll is that tall.
    const decoder = sharp(this.source.data, { pages: -1, limitInputPixels: this.limits.maxAnimationPixels, failOn: this.policy.lenient ? 'none' : 'warning' });
    // A frame past the first can be corrupt where the header and first frame were fine: a 4xx like any bad upload.
    const { data, info } = await deadline.bound(decoder.raw()).toBuffer({ resolveWithObject: true }).catch((err: unknown) => {
      throw classifyDecodeError(err);
    });
    const pageHeight = info.pageHeight ?? declared.pageHeight;
    const frames = Math.round(info.height / pageHeight);
    if (frames < 2) return WorkingImage.fromRaw(data, info, this.format, this.limits, this.policy);
    const animation: Animation = { frames, pageHeight, delay: Array.from({ length: frames }, (_, index) => declared.delay[index] ?? declared.delay.at(-1)!), loop: declared.loop };
    return WorkingImage.fromRaw(data, info, this.format, this.limits, this.policy, undefined, animation);
  }

  /** An animation roll's frames, each a still image sharing the roll's memory; a still image is its own one frame. */
  frames(): WorkingImage[] {
    const { source } = this;
    if (source.kind !== 'raw' || !source.animation) return [this];
    const { width, channels } = source.raw;
    const { pageHeight, frames } = source.animation;
    const bytes = width * pageHeight * channels;
    const info = { width, height: pageHeight, channels } as OutputInfo;
    return Array.from({ length: frames }, (_, index) =>
      WorkingImage.fromRaw(source.data.subarray(index * bytes, (index + 1) * bytes), info, this.format, this.limits, this.policy),
    );
  }

  /** Whether the EXIF orientation swaps width and height (orientations 5-8). */
  private get transposed(): boolean {
    return this.source.kind === 'encoded' && this.source.orientation >= 5;
  }

  private orients(autoOrient: boolean): boolean {
    return this.source.kind === 'encoded' && (this.source.forceOrient || autoOrient);
  }

  /** Dimensions the next operation sees, given whether it applies the EXIF orientation. */
  size(autoOrient: boolean): { width: number; height: number } {
    const swap = this.orients(autoOrient) && this.transposed;
    return swap ? { width: this.storedHeight, height: this.storedWidth } : { width: this.storedWidth, height: this.storedHeight };
  }

  get isEncoded(): boolean {
    return this.source.kind === 'encoded';
  }

  /**
   * What an output should keep of the upload where its format can: grey samples, 16 bits, and (for an operation that
   * leaves the pixels as stored, norotation) the EXIF orientation they still need. Raw pixels handed on between
   * pipeline steps are 8-bit sRGB, so they keep none of it.
   */
  get traits(): SourceTraits {
    if (this.source.kind !== 'encoded') return { grey: false, sixteenBit: false, storedOrientation: 1 };
    const { space, depth, orientation, forceOrient } = this.source;
    return { grey: space === 'b-w' || space === 'grey16', sixteenBit: depth === 'ushort', storedOrientation: forceOrient ? 1 : orientation };
  }

  /** The same upload, with its EXIF orientation applied by whatever opens it next; no pixels are decoded here. */
  withOrientationApplied(): WorkingImage {
    if (this.source.kind !== 'encoded') return this;
    const source: EncodedSource = { ...this.source, forceOrient: true };
    return new WorkingImage(source, this.storedWidth, this.storedHeight, this.format, this.hasAlpha, this.profile, this.limits, this.policy);
  }

  /**
   * Raw pixels handed on by a step, keeping this image's decode policy; `profile` if they were not converted to sRGB;
   * `animation` when they are a roll of frames.
   */
  withRaw(data: Buffer, info: OutputInfo, profile?: Buffer, animation?: Animation): WorkingImage {
    return WorkingImage.fromRaw(data, info, this.format, this.limits, this.policy, profile, animation);
  }

  /** A fresh sharp pipeline over this image, limited like every other. */
  open(autoOrient: boolean): Sharp {
    // failOn 'warning' turns libvips' "premature end of data" into an error instead of a half-grey image.
    const common: SharpOptions = { limitInputPixels: this.limits.maxInputPixels, failOn: this.policy.lenient ? 'none' : 'warning' };
    const { source } = this;
    const pipeline =
      source.kind === 'encoded'
        ? sharp(source.data, { ...common, autoOrient: this.orients(autoOrient) })
        : source.animation
          ? // A roll for the encoder: pages -1 makes sharp write every frame (see encode()).
            sharp(source.data, { ...common, limitInputPixels: this.limits.maxAnimationPixels, pages: -1, raw: { ...source.raw, pageHeight: source.animation.pageHeight } })
          : sharp(source.data, { ...common, raw: source.raw });
    return pipeline.timeout({ seconds: this.limits.processTimeoutSeconds });
  }
}

/** The header of an upload, after every check that can be made without decoding a pixel. */
export async function probe(data: Buffer, limits: Limits, policy: DecodePolicy = defaultDecodePolicy): Promise<{ meta: Metadata; format: InputFormat }> {
  if (data.length === 0) throw new ImageError('PP_MISSING_FILE', 'The uploaded file is empty');
  // HEIC, PDF, BMP, ICO: their own header readers (a PDF's in the decoder pool), limits checked there.
  const container = await probeContainer(data, { limits });
  if (container) return { meta: containerMetadata(container), format: containerAs[container.format] };
  // Before libvips sees any XML: metadata() already runs libxml2 and librsvg over an SVG.
  const svgXml = await svgCandidateXml(data);
  if (svgXml !== undefined) {
    if (!policy.svg) throw new ImageError('PP_UNSAFE_SVG', 'SVG input is disabled on this server (PP_ALLOW_SVG=false)');
    await assertSafeSvg(svgXml, limits);
  }
  // libvips' header read inflates PNG text and ICC chunks (50 MB each, no total): measure them first, capped.
  await assertSafeMetadata(data, limits);
  let meta: Metadata;
  try {
    meta = await sharp(data, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw classifyDecodeError(err);
  }
  const format = normaliseFormat(meta);
  if (!format) {
    throw new ImageError('PP_UNSUPPORTED_MEDIA', `Unsupported image format ${meta.format}; supported: ${inputFormats.join(', ')}`);
  }
  // libvips found an SVG our sniffing did not: it went unchecked, so it is refused.
  if (format === 'svg' && svgXml === undefined) throw new ImageError('PP_UNSAFE_SVG', 'SVG refused: it could not be checked');
  const { width, height } = meta;
  if (!width || !height) throw new ImageError('PP_UNDECODABLE', 'The image header declares no size');
  if (width * height > limits.maxInputPixels) {
    throw new ImageError(
      'PP_TOO_MANY_PIXELS',
      `Image is ${width}x${height} (${width * height} pixels), over the limit of ${limits.maxInputPixels} pixels`,
    );
  }
  const frames = meta.pages ?? 1;
  if (frames > limits.maxFrames) {
    throw new ImageError('PP_TOO_MANY_PIXELS', `Image declares ${frames} frames, over the limit of ${limits.maxFrames}`);
  }
  const framePixels = width * (meta.pageHeight ?? height) * frames;
  if (frames > 1 && framePixels > limits.maxAnimationPixels) {
    throw new ImageError('PP_TOO_MANY_PIXELS', `Animation has ${framePixels} pixels over ${frames} frames, over the limit of ${limits.maxAnimationPixels}`);
  }
  return { meta, format };
}

/** The fields of sharp's Metadata that /info and the pipeline read, for a format sharp cannot open itself. */
function containerMetadata(info: ContainerInfo): Metadata {
  const format = info.format === 'heic' ? 'heif' : info.format;
  const channels = info.hasAlpha ? 4 : 3;
  return { format, width: info.width, height: info.height, channels, hasAlpha: info.hasAlpha, space: 'srgb', pages: info.pages, orientation: 1, hasProfile: false } as unknown as Metadata;
}

function normaliseFormat(meta: Metadata): InputFormat | undefined {
  const format = meta.format as string;
  if (format === 'jpg') return 'jpeg';
  if (format === 'heif') return meta.compression === 'av1' ? 'avif' : 'heif';
  return (inputFormats as readonly string[]).includes(format) ? (format as InputFormat) : undefined;
}

/** Map a libvips/sharp failure to a client-facing error; the first line of libvips' text is safe to show. */
export function classifyDecodeError(err: unknown): ImageError {
  if (err instanceof ImageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const firstLine = message.split('\n')[0]?.trim() ?? '';
  if (/unsupported image format/i.test(message)) {
    return new ImageError('PP_UNSUPPORTED_MEDIA', `The file is not an image in a supported format (${inputFormatList})`, { cause: err });
  }
  if (/pixel limit/i.test(message)) {
    return new ImageError('PP_TOO_MANY_PIXELS', 'Image exceeds the pixel limit', { cause: err });
  }
  if (/timeout/i.test(message)) {
    return new ImageError('PP_TIMEOUT', 'Processing the image took too long', { cause: err });
  }
  return new ImageError('PP_UNDECODABLE', `The image could not be decoded: ${firstLine}`, { cause: err });
}
