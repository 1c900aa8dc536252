/** Duotone: imgproxy's `duotone`, the luminance mapped from color1 (shadows) to color2 (highlights), mixed by intensity. */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { rgb } from '../params.js';
import { between } from '../tone/range.js';
import { srgbPixels } from '../tone/raw.js';
import { eachRow } from '../raster.js';
import { defineOperation } from './types.js';

const toLinear = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
const toGamma = (v: number) => (v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055);
/** Linear light of each 8-bit level, and the sRGB encoding of 4096 steps of linear light: tables, not a pow per pixel. */
const linear = Float64Array.from({ length: 256 }, (_, v) => toLinear(v / 255));
const ENCODE_STEPS = 4096;
const encoded = Float64Array.from({ length: ENCODE_STEPS + 1 }, (_, i) => toGamma(i / ENCODE_STEPS));

export const duotone = defineOperation({
  name: 'duotone',
  origin: 'pixelpress',
  summary: 'Two-colour tone map (imgproxy duotone)',
  description:
    "imgproxy's duotone (intensity, color1, color2): each pixel's grey g (0-1: the luminance of grayscale, Rec. 709 " +
    'weights in linear light, sRGB-encoded) becomes color1 x (1 - g) + color2 x g, so shadows take color1 and highlights ' +
    'color2; that is mixed with the original by intensity (1, the default, is the duotone alone). Alpha is kept.',
  params: {
    color1: param(rgb, undefined, 'Shadow colour "R,G,B" (imgproxy color1).'),
    color2: param(rgb, undefined, 'Highlight colour "R,G,B" (imgproxy color2).'),
    intensity: param(between(0, 1), 1, 'How much of the duotone, 0-1 (default 1); 0 leaves the image as it is.'),
    ...outputParams,
  },
  required: ['color1', 'color2'],
  async apply(image, o, { deadline }) {
    const { data, info } = await srgbPixels(image, deadline);
    const [from, to, amount] = [o.color1!, o.color2!, o.intensity];
    const stride = info.width * info.channels;
    await eachRow(() => deadline.check(), (row) => {
      for (let i = row * stride; i < (row + 1) * stride; i += info.channels) {
        const y = 0.2126 * linear[data[i]!]! + 0.7152 * linear[data[i + 1]!]! + 0.0722 * linear[data[i + 2]!]!;
        // Linear interpolation between table steps: within 0.01 of a level of the exact encoding.
        const at = Math.min(1, y) * ENCODE_STEPS;
        const step = Math.floor(at);
        const g = step >= ENCODE_STEPS ? 1 : encoded[step]! + (encoded[step + 1]! - encoded[step]!) * (at - step);
        for (let c = 0; c < 3; c++) {
          const tone = from[c]! + (to[c]! - from[c]!) * g;
          data[i + c] = Math.round(data[i + c]! + (tone - data[i + c]!) * amount);
        }
      }
    }, info.height);
    return image.withRaw(data, info);
  },
});
