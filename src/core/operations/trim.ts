/** Trim: imgproxy's `trim`, the border of one colour removed (threshold and color as imgproxy's). */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { rgb } from '../params.js';
import { between } from '../tone/range.js';
import { defineOperation } from './types.js';

export const trim = defineOperation({
  name: 'trim',
  origin: 'pixelpress',
  summary: 'Remove a border of one colour (imgproxy trim)',
  description:
    "imgproxy's trim (threshold, color): the largest border of pixels that differ from color by at most threshold is " +
    "cut away, on all four sides (libvips' find_trim, which ignores specks of noise smaller than 3x3). color defaults " +
    "to the top-left pixel's and threshold to 10, as in imgproxy. imgproxy's equal_hor and equal_ver are not offered.",
  params: {
    threshold: param(between(0, 255), 10, 'Largest difference from color still trimmed, 0-255 (default 10, imgproxy).'),
    color: param(rgb, undefined, 'Colour "R,G,B" of the border to trim (default: the top-left pixel, imgproxy).'),
    ...outputParams,
  },
  async apply(image, o) {
    const [r, g, b] = o.color ?? [];
    return image.open(true).trim({ threshold: o.threshold, ...(o.color ? { background: { r: r!, g: g!, b: b! } } : {}) });
  },
});
