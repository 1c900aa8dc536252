/** Trim: imgproxy's `trim`, the border of one colour removed (threshold, color, equal_hor, equal_ver as imgproxy's). */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { boolean, rgb } from '../params.js';
import { between } from '../tone/range.js';
import { defineOperation } from './types.js';

export const trim = defineOperation({
  name: 'trim',
  origin: 'pixelpress',
  summary: 'Remove a border of one colour (imgproxy trim)',
  description:
    "imgproxy's trim (threshold, color, equal_hor, equal_ver): the largest border of pixels that differ from color by at " +
    "most threshold is cut away, on all four sides (libvips' find_trim, which ignores specks of noise smaller than 3x3). " +
    "color defaults to the top-left pixel's and threshold to 10, as in imgproxy. equal_hor cuts the same amount from " +
    'left and right (the smaller of the two), equal_ver from top and bottom, so the content stays centred. An image under ' +
    '3x3 pixels is left as it is.',
  params: {
    threshold: param(between(0, 255), 10, 'Largest difference from color still trimmed, 0-255 (default 10, imgproxy).'),
    color: param(rgb, undefined, 'Colour "R,G,B" of the border to trim (default: the top-left pixel, imgproxy).'),
    equal_hor: param(boolean, false, 'Cut as much from the left as from the right (imgproxy equal_hor).'),
    equal_ver: param(boolean, false, 'Cut as much from the top as from the bottom (imgproxy equal_ver).'),
    ...outputParams,
  },
  async apply(image, o, { deadline, frames }) {
    const { width, height } = image.size(true);
    // libvips refuses to trim under 3x3 (its noise filter's size): such an image has no border to find.
    if (width < 3 || height < 3) return image.open(true);
    const [r, g, b] = o.color ?? [];
    const trimmer = (from: typeof image) => from.open(true).trim({ threshold: o.threshold, ...(o.color ? { background: { r: r!, g: g!, b: b! } } : {}) });
    if (!o.equal_hor && !o.equal_ver && !frames) return trimmer(image);
    // libvips finds the box and crops in one go; the box alone is needed here, to widen it before cropping, or for an
    // animation to cut every frame at the box found on the first (frames of different sizes make no animation).
    const box = async (from: typeof image) => (await deadline.bound(trimmer(from).raw()).toBuffer({ resolveWithObject: true })).info;
    const info = frames ? await frames.once('trim', () => box(frames.first)) : await box(image);
    let [left, top] = [-(info.trimOffsetLeft ?? 0), -(info.trimOffsetTop ?? 0)];
    let [right, bottom] = [width - left - info.width, height - top - info.height];
    if (o.equal_hor) left = right = Math.min(left, right);
    if (o.equal_ver) top = bottom = Math.min(top, bottom);
    return image.open(true).extract({ left, top, width: width - left - right, height: height - top - bottom });
  },
});
