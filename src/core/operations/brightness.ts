/** Brightness: imgproxy's `brightness`, an integer from -255 to 255 added to every colour channel. */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { between } from '../tone/range.js';
import { defineOperation } from './types.js';

export const brightness = defineOperation({
  name: 'brightness',
  origin: 'pixelpress',
  summary: 'Brighten or darken (imgproxy brightness)',
  description:
    "imgproxy's brightness: an integer from -255 to 255 added to each colour channel (R, G, B; alpha is kept), " +
    'clipped to 0-255. 50 brightens by 50 levels, -50 darkens by 50.',
  params: {
    brightness: param(between(-255, 255, true), 0, 'Levels to add to each channel, -255 to 255 (imgproxy).'),
    ...outputParams,
  },
  required: ['brightness'],
  async apply(image, o) {
    return image.open(true).pipelineColourspace('srgb').linear(1, o.brightness);
  },
});
