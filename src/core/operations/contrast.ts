/** Contrast: imgproxy's `contrast`, a multiplier of each channel's distance from mid-grey (1 leaves the image as it is). */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { between } from '../tone/range.js';
import { defineOperation } from './types.js';

export const contrast = defineOperation({
  name: 'contrast',
  origin: 'pixelpress',
  summary: 'Raise or lower contrast (imgproxy contrast)',
  description:
    "imgproxy's contrast: a multiplier from 0 to 100, where 1 leaves the contrast unchanged, 0.5 halves it and 2 doubles " +
    "it. Each colour channel's distance from mid-grey (128) is multiplied: out = 128 + (in - 128) x contrast, clipped to " +
    '0-255; alpha is kept. 0 gives flat grey.',
  params: {
    // Beyond 100 every channel is already 0 or 255 at one level from mid-grey: a larger value changes nothing more.
    contrast: param(between(0, 100), 1, 'Contrast multiplier, 0-100; 1 is unchanged (imgproxy).'),
    ...outputParams,
  },
  required: ['contrast'],
  async apply(image, o) {
    return image.open(true).pipelineColourspace('srgb').linear(o.contrast, 128 * (1 - o.contrast));
  },
});
