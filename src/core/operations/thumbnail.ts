/** imaginary /thumbnail: a plain resize; with both sides the image is stretched to exactly width x height. */
import { processImage } from '../transform.js';
import { commonParams, pick } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const thumbnail = defineOperation({
  name: 'thumbnail',
  origin: 'imaginary',
  summary: 'Resize to width x height (stretching when both are given)',
  description: 'With both sides the result is exactly width x height and the aspect ratio is not kept, as imaginary does; with one side the aspect ratio is kept.',
  params: { ...pick('width', 'height'), ...commonParams },
  oneOf: ['width', 'height'],
  // imaginary's wording.
  missing: 'Missing required params: width or height',
  // Each side is stretched to its own size: enough pixels means covering the box.
  decodeBox: (o) => ({ width: o.width, height: o.height, fit: 'cover' }),
  apply(image, o, context) {
    return processImage(image, o, { force: true }, context);
  },
});
