/** Turn: rotation by any angle, the canvas grown to hold the whole image and filled with a background colour. */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { checkOutputSize } from '../geometry.js';
import { between } from '../tone/range.js';
import { defineOperation } from './types.js';

export const turn = defineOperation({
  name: 'turn',
  origin: 'pixelpress',
  summary: 'Rotate by any angle, with a background colour',
  description:
    "imgproxy's and thumbor's rotations take multiples of 90 only (as imaginary's /rotate, which stays as it is); this is " +
    "ImageMagick's -rotate: angle degrees clockwise (negative turns anticlockwise), the canvas grown to the rotated " +
    "image's bounding box, the corners filled with background (R,G,B) when given, else transparent (white in a JPEG). " +
    'Pixels are interpolated bilinearly.',
  params: {
    angle: param(between(-360, 360), 0, 'Degrees clockwise, -360 to 360 (fractions allowed).'),
    ...outputParams,
  },
  required: ['angle'],
  async apply(image, o, { limits }) {
    const { width, height } = image.size(true);
    const radians = (o.angle * Math.PI) / 180;
    const [cos, sin] = [Math.abs(Math.cos(radians)), Math.abs(Math.sin(radians))];
    checkOutputSize(Math.ceil(width * cos + height * sin), Math.ceil(width * sin + height * cos), limits);
    const [r, g, b] = o.background ?? [0, 0, 0];
    return image.open(true).rotate(o.angle, { background: { r, g, b, alpha: o.background ? 1 : 0 } });
  },
});
