/** imaginary /blur: Gaussian blur. */
import { requireParam } from '../options.js';
import { processImage } from '../transform.js';
import { commonParams, defineOperation } from './types.js';

export const blur = defineOperation({
  name: 'blur',
  summary: 'Gaussian blur',
  description: 'Blurs with a Gaussian of the given sigma (at least 0.3); minampl sets the accuracy (default 0.2).',
  params: ['sigma', 'minampl', ...commonParams.filter((p) => p !== 'sigma' && p !== 'minampl')],
  required: [],
  oneOf: ['sigma', 'minampl'],
  validate(o) {
    requireParam(o.sigma > 0 || o.minampl > 0, 'Missing required param: sigma or minampl');
  },
  apply(image, o, context) {
    return processImage(image, o, {}, context);
  },
});
