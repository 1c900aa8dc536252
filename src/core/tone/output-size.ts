/**
 * The output-size rule of geometry.ts (where it is private to the resize planner), for operations that grow an image
 * (padding, rotation by any angle): a 1x1 upload padded by 10,000 a side must be refused before it is allocated.
 */
import { ImageError } from '../errors.js';
import type { Limits } from '../limits.js';

export function assertOutputFits(width: number, height: number, limits: Limits): void {
  if (width > limits.maxOutputDimension || height > limits.maxOutputDimension || width * height > limits.maxOutputPixels) {
    throw new ImageError(
      'PP_OUTPUT_TOO_LARGE',
      `Output of ${width}x${height} exceeds the limits of ${limits.maxOutputDimension} pixels a side and ${limits.maxOutputPixels} pixels in all`,
    );
  }
}
