/** Padding: imgproxy's `padding`, space added around the image, CSS-style (top, right, bottom, left). */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { checkOutputSize } from '../geometry.js';
import { sides } from '../tone/range.js';
import { defineOperation } from './types.js';

export const padding = defineOperation({
  name: 'padding',
  origin: 'pixelpress',
  summary: 'Add space around the image (imgproxy padding)',
  description:
    "imgproxy's padding, written as in CSS: padding=10 adds 10 pixels on every side, 10,20 adds 10 above and below and 20 " +
    'left and right, 10,20,30 adds 10 above, 20 left and right, 30 below, and 10,20,30,40 gives top, right, bottom, left. ' +
    'The space is filled with background (R,G,B) when given, else it is transparent (white in a JPEG, which has no alpha).',
  params: {
    padding: param(sides(16_383), undefined, 'Pixels to add: "top[,right[,bottom[,left]]]", each 0-16383 (imgproxy, CSS order).'),
    ...outputParams,
  },
  required: ['padding'],
  async apply(image, o, { limits }) {
    const [top, right, bottom, left] = o.padding!;
    const { width, height } = image.size(true);
    checkOutputSize(width + left + right, height + top + bottom, limits);
    const [r, g, b] = o.background ?? [0, 0, 0];
    const background = { r, g, b, alpha: o.background ? 1 : 0 };
    return image.open(true).extend({ top, right, bottom, left, background });
  },
});
