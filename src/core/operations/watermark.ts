/** imaginary /watermark: draw a text over the image, tiled unless noreplicate. */
import { requireParam } from '../options.js';
import { processImage } from '../transform.js';
import { commonParams, defineOperation } from './types.js';

export const watermark = defineOperation({
  name: 'watermark',
  summary: 'Add a text watermark',
  description:
    'Renders text (Pango font, default "sans 10", dpi 150, box width = image width / 6) in color at opacity (default 0.25), ' +
    'tiled over the image, or once at (margin, margin) with noreplicate=true.',
  params: ['text', 'font', 'color', 'opacity', 'margin', 'dpi', 'textwidth', 'noreplicate', ...commonParams],
  required: ['text'],
  validate(o) {
    requireParam(o.text !== '', 'Missing required param: text');
  },
  apply(image, o, context) {
    return processImage(image, o, {}, context);
  },
});
