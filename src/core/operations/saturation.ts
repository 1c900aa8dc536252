/** Saturation: imgproxy's `saturation`, a multiplier of colourfulness (1 leaves the image as it is, 0 is grey). */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { between } from '../tone/range.js';
import { defineOperation } from './types.js';

export const saturation = defineOperation({
  name: 'saturation',
  origin: 'pixelpress',
  summary: 'Raise or lower saturation (imgproxy saturation)',
  description:
    "imgproxy's saturation: a multiplier from 0 to 100, where 1 leaves the colours unchanged, 0.5 halves their " +
    'saturation and 0 leaves grey. The chroma of CIE LCh is multiplied (lightness and hue are kept), as libvips\' ' +
    'modulate does; alpha is kept.',
  params: {
    // At 100 even a chroma of 1 reaches the edge of the sRGB gamut: more changes nothing.
    saturation: param(between(0, 100), 1, 'Saturation multiplier, 0-100; 1 is unchanged (imgproxy).'),
    ...outputParams,
  },
  required: ['saturation'],
  async apply(image, o) {
    return image.open(true).pipelineColourspace('srgb').modulate({ saturation: o.saturation });
  },
});
