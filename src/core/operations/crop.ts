/** imaginary /crop: scale to cover width x height, then cut to it around the gravity anchor. */
import { processImage } from '../transform.js';
import { commonParams, pick } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const crop = defineOperation({
  name: 'crop',
  origin: 'imaginary',
  summary: 'Crop to width x height around the gravity anchor',
  description:
    'With both sides the image is scaled to cover the box and cropped to it. With one side only, the other side keeps ' +
    'the input size and nothing is scaled: a strip is cut around the anchor (as imaginary does).',
  params: { ...pick('width', 'height', 'gravity'), ...commonParams },
  oneOf: ['height', 'width'],
  decodeBox: (o) => ({ width: o.width, height: o.height, fit: 'cover' }),
  apply(image, o, context) {
    return processImage(image, o, { crop: true }, context);
  },
});
