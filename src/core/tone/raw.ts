/**
 * Decoded sRGB pixels for the operations whose kernel is a few lines of our own (pixelate, gamma, duotone, rounded
 * corners): libvips has no such operation, and a per-pixel lookup or block mean in JS is linear in the pixels, which
 * the input limits already bound.
 */
import type { OutputInfo } from 'sharp';
import type { Deadline } from '../encoders/deadline.js';
import type { WorkingImage } from '../image.js';

export interface Pixels {
  data: Buffer;
  info: OutputInfo;
}

/** The image as 8-bit sRGB (3 channels) or sRGB with alpha (4), EXIF orientation applied. */
export async function srgbPixels(image: WorkingImage, deadline: Deadline, alpha: 'keep' | 'add' = 'keep'): Promise<Pixels> {
  let pipeline = image.open(true).toColourspace('srgb');
  if (alpha === 'add') pipeline = pipeline.ensureAlpha();
  const { data, info } = await deadline.bound(pipeline.raw()).toBuffer({ resolveWithObject: true });
  return { data, info };
}
