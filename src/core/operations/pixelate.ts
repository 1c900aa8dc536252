/** Pixelate: imgproxy's `pixelate`, the image as blocks of size x size pixels, each the mean of what it covers. */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { between } from '../tone/range.js';
import { srgbPixels } from '../tone/raw.js';
import { eachRow } from '../raster.js';
import { defineOperation } from './types.js';

export const pixelate = defineOperation({
  name: 'pixelate',
  origin: 'pixelpress',
  summary: 'Pixelate into square blocks (imgproxy pixelate)',
  description:
    "imgproxy's pixelate: the image is divided into size x size blocks from its top-left corner (the last row and column " +
    'of blocks may be narrower), and each block is filled with the mean of its pixels, channel by channel, alpha ' +
    'included. The image keeps its size.',
  params: {
    size: param(between(1, 10_000, true), 0, 'Block size in pixels, 1-10000 (imgproxy); 1 leaves the image as it is.'),
    ...outputParams,
  },
  required: ['size'],
  async apply(image, o, { deadline }) {
    // A box mean of exact blocks: libvips' shrink-then-zoom would blur block edges when the size does not divide the image.
    const { data, info } = await srgbPixels(image, deadline);
    const { width, height, channels } = info;
    const sums = new Float64Array(channels);
    // One band of blocks at a time, so a 16 MP image yields to the event loop (and meets the deadline) between bands.
    await eachRow(() => deadline.check(), (band) => {
      const top = band * o.size;
      const bottom = Math.min(height, top + o.size);
      for (let left = 0; left < width; left += o.size) {
        const right = Math.min(width, left + o.size);
        sums.fill(0);
        for (let y = top; y < bottom; y++) {
          for (let i = (y * width + left) * channels, end = (y * width + right) * channels; i < end; i += channels) {
            for (let c = 0; c < channels; c++) sums[c]! += data[i + c]!;
          }
        }
        const count = (bottom - top) * (right - left);
        for (let y = top; y < bottom; y++) {
          for (let i = (y * width + left) * channels, end = (y * width + right) * channels; i < end; i += channels) {
            for (let c = 0; c < channels; c++) data[i + c] = Math.round(sums[c]! / count);
          }
        }
      }
    }, Math.ceil(height / o.size));
    return image.withRaw(data, info);
  },
});
