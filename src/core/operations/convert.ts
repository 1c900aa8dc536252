/** imaginary /convert: re-encode as another format. */
import { processImage } from '../transform.js';
import { commonParams } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const convert = defineOperation({
  name: 'convert',
  origin: 'imaginary',
  summary: 'Convert to another format',
  description: 'Writes the image as type (jpeg, png, webp, avif, gif, tiff, or auto to negotiate from Accept).',
  params: commonParams,
  required: ['type'],
  decodeBox: () => 'unchanged',
  apply(image, o, context) {
    return processImage(image, o, {}, context);
  },
});
