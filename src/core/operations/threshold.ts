/** Threshold: grey at least `threshold` becomes white, the rest black (ImageMagick's -threshold, sharp's threshold). */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { between } from '../tone/range.js';
import { defineOperation } from './types.js';

export const threshold = defineOperation({
  name: 'threshold',
  origin: 'pixelpress',
  summary: 'Black and white at a grey level',
  description:
    'Neither imgproxy nor thumbor has it; this is ImageMagick\'s -threshold on the 0-255 scale, as sharp\'s threshold: ' +
    'each pixel\'s grey (the luminance of grayscale) becomes 255 when it is at least the threshold, else 0. One grey ' +
    'channel comes out (plus alpha, if any). Default threshold 128.',
  params: {
    threshold: param(between(0, 255, true), 128, 'Grey level, an integer from 0 to 255 (default 128): at or above it is white.'),
    ...outputParams,
  },
  async apply(image, o) {
    // Written as grey: sharp would otherwise turn the thresholded channel back into three equal ones.
    return image.open(true).pipelineColourspace('srgb').threshold(o.threshold, { grayscale: true }).toColourspace('b-w');
  },
});
