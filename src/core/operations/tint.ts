/** Tint: the image's grey, coloured with the chroma of one colour (sharp's tint, a monochrome in that colour). */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { rgb } from '../params.js';
import { defineOperation } from './types.js';

export const tint = defineOperation({
  name: 'tint',
  origin: 'pixelpress',
  summary: 'Monochrome in one colour',
  description:
    "thumbor has no tint and imgproxy's monochrome (a Pro feature) is not published; this is sharp's tint: each pixel's " +
    'luminance (as grayscale) keeps its CIE L*, and takes the a* and b* of color scaled by 1 - 4 (L*/100 - 0.5)^2, so mid-' +
    'tones carry the full colour and black and white stay neutral. Alpha is kept.',
  params: {
    color: param(rgb, undefined, 'The tint colour "R,G,B" (0-255 each).'),
    ...outputParams,
  },
  required: ['color'],
  async apply(image, o) {
    const [r, g, b] = o.color!;
    return image.open(true).pipelineColourspace('srgb').tint({ r, g, b });
  },
});
