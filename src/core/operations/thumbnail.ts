/** imaginary /thumbnail: a plain resize; with both sides the image is stretched to exactly width x height. */
import { requireParam } from '../options.js';
import { processImage } from '../transform.js';
import { commonParams, defineOperation } from './types.js';

export const thumbnail = defineOperation({
  name: 'thumbnail',
  summary: 'Resize to width x height (stretching when both are given)',
  description: 'With both sides the result is exactly width x height and the aspect ratio is not kept, as imaginary does; with one side the aspect ratio is kept.',
  params: ['width', 'height', ...commonParams],
  required: [],
  oneOf: ['width', 'height'],
  validate(o) {
    requireParam(o.width > 0 || o.height > 0, 'Missing required params: width or height');
  },
  apply(image, o, context) {
    return processImage(image, o, { force: true }, context);
  },
});
