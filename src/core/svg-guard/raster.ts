/** An image embedded in an SVG as a data: URL, held to an upload's format and pixel limits from its header. */
import sharp, { type Metadata } from 'sharp';
import { ImageError } from '../errors.js';
import type { Limits } from '../limits.js';
import { assertSafeMetadata } from '../metadata-guard.js';
import { refused } from './refused.js';

/**
 * The raster formats pixelpress accepts as uploads (sharp names AVIF "heif"). librsvg 2.63 in sharp 0.35 decodes
 * only PNG and JPEG from a data: URL; the others are held to the same limits in case a later build decodes them.
 */
const rasterFormats: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

/** WOFF, WOFF2, OpenType, TrueType and collections: @font-face data librsvg never decodes as an image. */
const fontSignatures = ['wOFF', 'wOF2', 'OTTO', 'true', 'ttcf', '\0\x01\0\0'].map((magic) => Buffer.from(magic, 'latin1'));

export const isFont = (bytes: Buffer): boolean => fontSignatures.some((magic) => bytes.subarray(0, 4).equals(magic));

/** The pixels librsvg would decode for this embedded image (its first frame), after the upload limits. */
export async function embeddedRasterPixels(bytes: Buffer, where: string, limits: Limits): Promise<number> {
  // libvips' header read inflates PNG text and ICC chunks: the same metadata bomb as an upload.
  await assertSafeMetadata(bytes, limits);
  let meta: Metadata;
  try {
    // Reads the header only; the pixel limits are applied below, over all embedded images together.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    refused(`embeds data in ${where} that is not an image pixelpress reads`);
  }
  if (!rasterFormats.has(meta.format)) refused(`embeds a ${meta.format} image in ${where}; embedded images may be ${[...rasterFormats].join(', ')}`);
  const { width, height } = meta;
  if (!width || !height) refused(`embeds an image that declares no size in ${where}`);
  const frames = meta.pages ?? 1;
  const frameHeight = meta.pageHeight ?? height;
  if (frames > limits.maxFrames) {
    throw new ImageError('PP_TOO_MANY_PIXELS', `SVG embeds an image in ${where} that declares ${frames} frames, over the limit of ${limits.maxFrames}`);
  }
  if (frames > 1 && width * frameHeight * frames > limits.maxAnimationPixels) {
    throw new ImageError('PP_TOO_MANY_PIXELS', `SVG embeds an animation in ${where} of ${width * frameHeight * frames} pixels, over the limit of ${limits.maxAnimationPixels}`);
  }
  return width * frameHeight;
}
