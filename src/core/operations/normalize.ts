/** Normalize: stretch CIE L* so that the lower and upper percentiles become black and white (sharp's normalise). */
import { outputParams } from '../imaginary-params.js';
import { ImageError } from '../errors.js';
import { param } from '../options.js';
import { between } from '../tone/range.js';
import { defineOperation } from './types.js';

export const normalize = defineOperation({
  name: 'normalize',
  origin: 'pixelpress',
  summary: 'Stretch the lightness to the full range',
  description:
    "Neither imgproxy nor thumbor has it (thumbor's equalize() flattens the histogram instead); this is sharp's normalise: " +
    'the lower and upper percentiles of CIE L* (default 1 and 99) are found, and L* is stretched linearly so that they ' +
    'become 0 and 100, keeping a* and b*. An image whose range is already within one level is left as it is. Alpha is kept.',
  params: {
    lower: param(between(0, 99, true), 1, 'Percentile of lightness that becomes black, 0-99 (default 1).'),
    upper: param(between(1, 100, true), 99, 'Percentile of lightness that becomes white, 1-100 (default 99).'),
    ...outputParams,
  },
  check(o) {
    if (o.lower >= o.upper) throw new ImageError('PP_INVALID_PARAM', `lower (${o.lower}) must be below upper (${o.upper})`);
  },
  async apply(image, o) {
    return image.open(true).pipelineColourspace('srgb').normalise({ lower: o.lower, upper: o.upper });
  },
});
