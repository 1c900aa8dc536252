/** imaginary /smartcrop: /crop with the anchor chosen by libvips' attention strategy. */
import { processImage } from '../transform.js';
import { commonParams, pick } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const smartcrop = defineOperation({
  name: 'smartcrop',
  origin: 'imaginary',
  summary: 'Crop to width x height around the most interesting region',
  description: 'Like /crop, but the region kept is chosen by libvips attention (skin tones, saturation, edges).',
  params: { ...pick('width', 'height'), ...commonParams },
  oneOf: ['height', 'width'],
  decodeBox: (o) => ({ width: o.width, height: o.height, fit: 'cover' }),
  apply(image, o, context) {
    return processImage(image, o, { crop: true, smart: true }, context);
  },
});
