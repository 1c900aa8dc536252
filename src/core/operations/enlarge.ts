/** imaginary /enlarge: scale up (or down) to cover width x height and crop to exactly that size. */
import { processImage } from '../transform.js';
import { commonParams, pick } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const enlarge = defineOperation({
  name: 'enlarge',
  origin: 'imaginary',
  summary: 'Enlarge to exactly width x height, cropping the overflow',
  description: 'Scales the image, up if needed, to cover width x height and crops the rest (gravity applies); with nocrop=true it scales to fit inside the box instead.',
  params: { ...pick('width', 'height', 'nocrop', 'gravity'), ...commonParams },
  required: ['height', 'width'],
  decodeBox: (o) => ({ width: o.width, height: o.height, fit: 'cover' }),
  apply(image, o, context) {
    return processImage(image, o, { enlarge: true, crop: !o.nocrop }, context);
  },
});
