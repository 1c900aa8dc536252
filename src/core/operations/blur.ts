/** imaginary /blur: Gaussian blur. */
import { processImage } from '../transform.js';
import { commonParams, pick } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const blur = defineOperation({
  name: 'blur',
  origin: 'imaginary',
  summary: 'Gaussian blur',
  description: 'Blurs with a Gaussian of the given sigma (at least 0.3); minampl sets the accuracy (default 0.2).',
  // Its own two first, for the docs; the rest are the common ones.
  params: { ...pick('sigma', 'minampl'), ...commonParams },
  oneOf: ['sigma', 'minampl'],
  apply(image, o, context) {
    return processImage(image, o, {}, context);
  },
});
