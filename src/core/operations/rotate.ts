/** imaginary /rotate: rotate clockwise by a multiple of 90 degrees. */
import { processImage } from '../transform.js';
import { commonParams } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const rotate = defineOperation({
  name: 'rotate',
  origin: 'imaginary',
  summary: 'Rotate clockwise by 90, 180 or 270 degrees',
  description: 'The angle is rounded down to a multiple of 90 and capped at 270 (45 leaves the image as it is, 360 gives 270), as imaginary does.',
  params: commonParams,
  required: ['rotate'],
  apply(image, o, context) {
    return processImage(image, o, {}, context);
  },
});
