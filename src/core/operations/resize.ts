/** imaginary /resize: fit inside width x height and pad to exactly that size; one side keeps the aspect ratio. */
import { processImage } from '../transform.js';
import { commonParams, pick } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const resize = defineOperation({
  name: 'resize',
  origin: 'imaginary',
  summary: 'Resize, keeping the aspect ratio; with both sides, pad to exactly width x height',
  description:
    'With width and height the image is scaled to fit inside the box and padded (extend mode, default copy) to exactly that size; ' +
    'nocrop=false crops to fill instead. With one side the other follows the aspect ratio. Never enlarges when both sides are already smaller.',
  params: { ...pick('width', 'height', 'nocrop', 'gravity'), ...commonParams },
  oneOf: ['height', 'width'],
  decodeBox: (o) => ({ width: o.width, height: o.height, fit: 'inside' }),
  apply(image, o, context) {
    const crop = o.defined.has('nocrop') ? !o.nocrop : false;
    return processImage(image, o, { embed: true, crop }, context);
  },
});
