/** imaginary /watermark: draw a text over the image, tiled unless noreplicate. */
import { processImage } from '../transform.js';
import { commonParams, textParams } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const watermark = defineOperation({
  name: 'watermark',
  origin: 'imaginary',
  summary: 'Add a text watermark',
  description:
    'Renders text (Pango font, default "sans 10", dpi 150, box width = image width / 6) in color at opacity (default 0.25), ' +
    'tiled over the image, or once at (margin, margin) with noreplicate=true.',
  params: { ...textParams, ...commonParams },
  required: ['text'],
  // Pango renders the text before libvips runs anything, out of reach of its timeout.
  isolate: (o) => o.text !== '',
  apply(image, o, context) {
    return processImage(image, o, {}, context);
  },
});
