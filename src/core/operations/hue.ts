/** Hue: rotation of the CIE LCh hue angle by a number of degrees, as sharp's and ipx's modulate hue. */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { between } from '../tone/range.js';
import { defineOperation } from './types.js';

export const hue = defineOperation({
  name: 'hue',
  origin: 'pixelpress',
  summary: 'Rotate the hue by a number of degrees',
  description:
    'Neither imgproxy nor thumbor has a hue control; this is the hue of sharp\'s modulate (and of ipx, which uses it): ' +
    'an integer number of degrees from -360 to 360 added to the hue angle of CIE LCh, keeping lightness and chroma. ' +
    '180 swaps reds with cyans; alpha is kept.',
  params: {
    hue: param(between(-360, 360, true), 0, 'Degrees to rotate the hue by, an integer from -360 to 360.'),
    ...outputParams,
  },
  required: ['hue'],
  async apply(image, o) {
    return image.open(true).pipelineColourspace('srgb').modulate({ hue: o.hue });
  },
});
