/** Unsharp masking: libvips' sharpen of the L channel in Lab, as sharp exposes it (sigma, m1, m2). */
import { outputParams } from '../imaginary-params.js';
import { param, requireParam } from '../options.js';
import { float } from '../params.js';
import { defineOperation } from './types.js';

export const sharpen = defineOperation({
  name: 'sharpen',
  origin: 'pixelpress',
  summary: 'Sharpen (unsharp mask on lightness)',
  description:
    'Without sigma, a fast mild 3x3 sharpen. With sigma, the Lab lightness is sharpened against a Gaussian blur of that sigma: ' +
    'differences below 2 (of 100) are scaled by m1 (flat areas), larger ones by m2 (edges), capped at +10 / -20.',
  params: {
    // libvips refuses sigma under 0.000001; over 10 the mask outgrows what sharpening is for (it becomes local contrast).
    sigma: param(float(10, 0.000001), 0, 'Sigma of the Gaussian mask, 0.000001-10: about 1 + radius / 2. Absent: a fast mild sharpen.'),
    m1: param(float(1_000_000), 1, 'Sharpening of flat areas, 0-1000000 (default 1).'),
    m2: param(float(1_000_000), 2, 'Sharpening of jagged areas (edges), 0-1000000 (default 2).'),
    ...outputParams,
  },
  check(o) {
    // m1 and m2 shape the sigma sharpen only; the mild one has no such knobs, so they would silently do nothing.
    requireParam(o.sigma > 0 || !(o.defined.has('m1') || o.defined.has('m2')), 'm1 and m2 need sigma: add sigma (e.g. sigma=1)');
  },
  async apply(image, o) {
    const pipeline = image.open(true);
    return o.sigma > 0 ? pipeline.sharpen({ sigma: o.sigma, m1: o.m1, m2: o.m2 }) : pipeline.sharpen();
  },
});
