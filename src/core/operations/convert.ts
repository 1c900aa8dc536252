/** imaginary /convert: re-encode as another format. */
import { requireParam } from '../options.js';
import { processImage } from '../transform.js';
import { commonParams, defineOperation } from './types.js';

export const convert = defineOperation({
  name: 'convert',
  summary: 'Convert to another format',
  description: 'Writes the image as type (jpeg, png, webp, avif, gif, tiff, or auto to negotiate from Accept).',
  params: commonParams,
  required: ['type'],
  validate(o) {
    requireParam(o.type !== '', 'Missing required param: type');
  },
  apply(image, o, context) {
    return processImage(image, o, {}, context);
  },
});
