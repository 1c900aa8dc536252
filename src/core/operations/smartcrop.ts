/** imaginary /smartcrop: /crop with the anchor chosen by libvips' attention strategy. */
import { requireParam } from '../options.js';
import { processImage } from '../transform.js';
import { commonParams, defineOperation } from './types.js';

export const smartcrop = defineOperation({
  name: 'smartcrop',
  summary: 'Crop to width x height around the most interesting region',
  description: 'Like /crop, but the region kept is chosen by libvips attention (skin tones, saturation, edges).',
  params: ['width', 'height', ...commonParams],
  required: [],
  oneOf: ['width', 'height'],
  validate(o) {
    requireParam(o.width > 0 || o.height > 0, 'Missing required param: height or width');
  },
  apply(image, o, context) {
    return processImage(image, o, { crop: true, smart: true }, context);
  },
});
