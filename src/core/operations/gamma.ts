/** Gamma: ImageMagick's -gamma, every colour channel raised to 1/gamma (above 1 brightens the mid-tones). */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { between } from '../tone/range.js';
import { srgbPixels } from '../tone/raw.js';
import { eachRow } from '../raster.js';
import { defineOperation } from './types.js';

export const gamma = defineOperation({
  name: 'gamma',
  origin: 'pixelpress',
  summary: 'Gamma correction (ImageMagick -gamma)',
  description:
    'Neither imgproxy nor thumbor has a gamma control; this is ImageMagick\'s -gamma: each sRGB colour channel, scaled ' +
    'to 0-1, is raised to the power 1/gamma and rounded to 8 bits. 2 brightens the mid-tones, 0.5 darkens them; black ' +
    'and white stay; alpha is kept.',
  params: {
    // Past 0.1 and 10 every level but black and white is already within a few levels of black or white.
    gamma: param(between(0.1, 10), 1, 'Gamma, 0.1-10; 1 is unchanged, above 1 brightens the mid-tones.'),
    ...outputParams,
  },
  required: ['gamma'],
  async apply(image, o, { deadline }) {
    // libvips' own gamma (sharp's gamma()) is tied to resizing; a 256-entry table is exact and as fast.
    const { data, info } = await srgbPixels(image, deadline);
    const table = Uint8Array.from({ length: 256 }, (_, v) => Math.round(255 * (v / 255) ** (1 / o.gamma)));
    const colours = Math.min(3, info.channels);
    const stride = info.width * info.channels;
    await eachRow(() => deadline.check(), (y) => {
      for (let i = y * stride; i < (y + 1) * stride; i += info.channels) for (let c = 0; c < colours; c++) data[i + c] = table[data[i + c]!]!;
    }, info.height);
    return image.withRaw(data, info);
  },
});
