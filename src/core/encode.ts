/** Output formats: the one place that knows each encoder's options and MIME type. */
import type { Sharp } from 'sharp';
import type { Animation } from './animation.js';
import type { InputFormat } from './image.js';
import type { OutputOptions } from './imaginary-params.js';
import type { OutputType, Rgb, TiffCompression } from './params.js';

export const mimeTypes: Readonly<Record<OutputType, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
  tiff: 'image/tiff',
};

/** What an input is written as when no type is asked for: its own format where libvips can write it. */
export function defaultOutputFor(format: InputFormat): OutputType {
  switch (format) {
    case 'svg': return 'png';
    case 'heif': return 'jpeg';
    default: return format;
  }
}

export type EncodeSettings = Pick<
  OutputOptions,
  'quality' | 'compression' | 'interlace' | 'palette' | 'speed' | 'stripmeta' | 'noprofile' | 'background' | 'tiffcompression'
>;

/** Formats that carry an EXIF Orientation tag (GIF has no EXIF). */
const exifFormats: ReadonlySet<OutputType> = new Set(['jpeg', 'png', 'webp', 'tiff', 'avif']);

const white: Rgb = [255, 255, 255];

/** imaginary's quality default is bimg's 75; 0 means "not given". */
const DEFAULT_QUALITY = 75;

/**
 * Huffman tables optimised per image: off, as in both services pixelpress replaces (Pillow's save() and libvips'
 * jpegsave, which imaginary uses, default to the standard tables; sharp alone defaults to optimising). Measured on the
 * blurred 2560x1600 photograph (docs/benchmarks.md): 24 ms against 10 ms to encode, for a file 14% smaller; with it
 * off the seed route's JPEG is within 0.1% of Pillow's own size. Progressive JPEG always optimises (libjpeg does).
 */
const OPTIMISE_JPEG_HUFFMAN = false;

/**
 * libheif speed when none is given (imaginary's is 5, sharp effort 4). Measured on a 4 MP photo at quality 75:
 * speed 8 (effort 1) costs 1.3-1.4 CPU-s for a file 9.9% larger than speed 5's, which costs 12-13 CPU-s
 * (speed 9: 0.8 s, +10.6%; speed 6: 2.4-2.7 s, +9.2%).
 */
const DEFAULT_AVIF_SPEED = 8;

/**
 * Encoders that compress the whole image after libvips' last progress report (libheif, cgif and libimagequant, and
 * libjpeg/libspng writing progressive or interlaced files), so sharp's timeout cannot stop them: measured on 16 MP,
 * a 1 s timeout let AVIF, GIF and palette PNG run 7, 26 and 24 s, interlaced PNG 3 s. They run where they can be killed.
 */
export function encodesAtOnce(type: OutputType, settings: Pick<EncodeSettings, 'palette' | 'interlace'>): boolean {
  switch (type) {
    case 'avif':
    case 'gif': return true;
    case 'png': return settings.palette || settings.interlace;
    case 'jpeg': return settings.interlace;
    default: return false;
  }
}

/**
 * Output pixels above which an AVIF that type=auto chose is written as WebP instead (limits.maxAutoAvifPixels), or
 * undefined when the request asked for AVIF itself or AVIF was not negotiated. Set around one request by the isolated
 * child, which runs one request at a time and is the only place AVIF is ever encoded (see encodesAtOnce).
 */
let autoAvifMaxPixels: number | undefined;

/** Run `work` (one request) with type=auto's AVIF held to `maxPixels` of output. */
export async function withAutoAvifBudget<T>(maxPixels: number | undefined, work: () => Promise<T>): Promise<T> {
  autoAvifMaxPixels = maxPixels;
  try {
    return await work();
  } finally {
    autoAvifMaxPixels = undefined;
  }
}

/**
 * WebP is the fallback: every browser that lists image/avif decodes WebP (Chrome 85+, Firefox 93+, Safari 16+), and it
 * costs a tenth of AVIF. The output size is only known once the steps have run, so it is measured by running them to
 * raw pixels first: a decode and a resize against the seconds an AVIF encode would cost.
 */
async function autoAvifFits(pipeline: Sharp): Promise<boolean> {
  if (autoAvifMaxPixels === undefined) return true;
  const { info } = await pipeline.clone().raw().toBuffer({ resolveWithObject: true });
  return info.width * info.height <= autoAvifMaxPixels;
}

/**
 * EXIF with nothing but the Orientation tag. libvips writes the tag from the image's orientation field, which sharp
 * sets only from `withMetadataOrientation`; its one public setter, withMetadata(), would also keep everything else of
 * the upload (GPS in EXIF, XMP) and convert to sRGB. So the field is set directly, and withExif() replaces the
 * upload's EXIF with the tag alone. test/http/output-fidelity.test.ts fails if sharp renames the field.
 */
function tagOrientation(pipeline: Sharp, orientation: number): void {
  pipeline.withExif({ IFD0: { Orientation: String(orientation) } });
  const options = (pipeline as unknown as { options: Record<string, unknown> }).options;
  if (!('withMetadataOrientation' in options)) throw new Error('sharp has no withMetadataOrientation option: the Orientation tag cannot be written');
  options.withMetadataOrientation = orientation;
}

/**
 * TIFF is lossless unless asked: deflate by default (smaller than LZW on photographs and read by every TIFF reader
 * that matters), with the horizontal predictor that makes either worth it. sharp's own default is JPEG-in-TIFF.
 */
function tiffOptions(compression: TiffCompression, quality: number) {
  if (compression === 'jpeg') return { compression, quality };
  if (compression === 'none') return { compression };
  return { compression, predictor: 'horizontal' as const };
}

export interface EncodeResult {
  data: Buffer;
  type: OutputType;
  width: number;
  height: number;
}

/**
 * An animation's frame delays and loop count, for the two encoders that write one (GIF, WebP); the frames themselves
 * come as a roll whose page height sharp already knows (WorkingImage.open). Nothing for a still image.
 */
function timing(animation: Animation | undefined): { loop?: number; delay?: number[] } {
  return animation ? { loop: animation.loop, delay: [...animation.delay] } : {};
}

/**
 * Encode `pipeline` as `type`. `keepProfile` keeps an RGB input's ICC profile instead of converting to sRGB:
 * colour-correct and cheaper; GIF cannot carry a profile, so it is always converted. Other metadata (EXIF with GPS,
 * XMP) is never copied, but `orientation` (above 1) is written as the EXIF Orientation tag: the pixels were left as
 * stored (norotation) and still need it to be shown upright.
 */
export async function encode(pipeline: Sharp, asked: OutputType, settings: EncodeSettings, keepProfile: boolean, orientation = 1, animation?: Animation): Promise<EncodeResult> {
  const quality = settings.quality || DEFAULT_QUALITY;
  const type = asked === 'avif' && !(await autoAvifFits(pipeline)) ? 'webp' : asked;
  if (type === 'jpeg') {
    // JPEG has no alpha: flatten onto the asked background, white otherwise, rather than libvips' black.
    const [r, g, b] = settings.background ?? white;
    pipeline.flatten({ background: { r, g, b } });
  }
  switch (type) {
    case 'jpeg': pipeline.jpeg({ quality, progressive: settings.interlace, optimiseCoding: OPTIMISE_JPEG_HUFFMAN }); break;
    case 'png':
      pipeline.png({
        compressionLevel: settings.compression || 6,
        // A filter chosen per row, as libpng and ImageMagick do: sharp's default (none) made photographs 20-40% larger.
        adaptiveFiltering: true,
        progressive: settings.interlace,
        palette: settings.palette,
        ...(settings.palette ? { quality } : {}),
      });
      break;
    case 'webp': pipeline.webp({ quality, ...timing(animation) }); break;
    // libheif speed is 0-9 with 9 fastest; sharp's effort runs the other way.
    case 'avif': pipeline.avif({ quality, effort: 9 - (settings.speed || DEFAULT_AVIF_SPEED) }); break;
    case 'gif': pipeline.gif({ progressive: settings.interlace, ...timing(animation) }); break;
    case 'tiff': pipeline.tiff(tiffOptions(settings.tiffcompression || 'deflate', quality)); break;
  }
  if (keepProfile && type !== 'gif' && !settings.noprofile && !settings.stripmeta) pipeline.keepIccProfile();
  if (orientation > 1 && exifFormats.has(type) && !settings.stripmeta) tagOrientation(pipeline, orientation);
  const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
  // An animation's height is its frames' (sharp's info.height is the whole roll's).
  return { data, type, width: info.width, height: info.pageHeight ?? info.height };
}
