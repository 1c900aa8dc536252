/** Pillow's named ImageFilter filters, with Pillow's own arithmetic and border handling (see src/core/pillow/). */
import { ImageError } from '../errors.js';
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { float, integer, oneOf } from '../params.js';
import { boxBlur, gaussianBlur, unsharpMask } from '../pillow/box-blur.js';
import { builtinKernels, convolve } from '../pillow/kernels.js';
import type { Raster } from '../raster.js';
import { modeFilter, rankFilter } from '../pillow/rank.js';
import { ringBlurAsync } from '../ring-blur/index.js';
import { defineOperation } from './types.js';

const kernelNames = Object.keys(builtinKernels) as (keyof typeof builtinKernels)[];
const names = ['blur', ...kernelNames, 'gaussianblur', 'boxblur', 'unsharpmask', 'median', 'min', 'max', 'mode'] as const;
type Name = (typeof names)[number];

/** Which of the tuning parameters each filter reads; any other given is a 400 rather than silently nothing. */
const uses: Partial<Record<Name, readonly string[]>> = {
  gaussianblur: ['radius'],
  boxblur: ['radius'],
  unsharpmask: ['radius', 'percent', 'threshold'],
  median: ['size'],
  min: ['size'],
  max: ['size'],
  mode: ['size'],
};
const tuning = ['radius', 'percent', 'threshold', 'size'] as const;

export const filter = defineOperation({
  name: 'filter',
  origin: 'pillow',
  summary: "Pillow's ImageFilter filters: BLUR, CONTOUR, DETAIL, EDGE_ENHANCE(_MORE), EMBOSS, FIND_EDGES, SHARPEN, SMOOTH(_MORE), GaussianBlur, BoxBlur, UnsharpMask, Median/Min/Max/ModeFilter",
  description:
    'Applies one of Pillow ImageFilter\'s filters with Pillow\'s own arithmetic and borders: every filter gives the same ' +
    'bytes as Pillow 9.4 (tested against it). Every band is filtered, alpha included, as Pillow does for RGBA. radius: GaussianBlur/BoxBlur/UnsharpMask ' +
    '(default 2); percent and threshold: UnsharpMask (150, 3); size: Median/Min/Max/Mode (3).',
  params: {
    name: param(
      oneOf(names, {
        gaussian_blur: 'gaussianblur', box_blur: 'boxblur', unsharp_mask: 'unsharpmask', medianfilter: 'median', minfilter: 'min',
        maxfilter: 'max', modefilter: 'mode',
      }),
      '' as const,
      `The filter: ${names.join(', ')} (Pillow's names, case-insensitive; MedianFilter etc. accepted).`,
    ),
    // A box blur costs the same at any radius (running sums); past 1000 the image is one colour anyway.
    radius: param(float(1000), 2, 'GaussianBlur standard deviation, BoxBlur and UnsharpMask radius, 0-1000 (default 2).'),
    percent: param(integer(10_000), 150, 'UnsharpMask strength in percent, 0-10000 (default 150).'),
    threshold: param(integer(255), 3, 'UnsharpMask: only differences above this many levels are sharpened, 0-255 (default 3).'),
    // The window is size x size samples per output sample: 7 is 49 per sample, a few seconds for 4 MP.
    size: param(integer(7), 3, 'Median/Min/Max/Mode window, odd, 1-7 (default 3).'),
    ...outputParams,
  },
  required: ['name'],
  check(o) {
    if (o.size % 2 === 0) throw new ImageError('PP_INVALID_PARAM', `Expected an odd size (1, 3, 5 or 7) but received ${o.size}`);
    const own = uses[o.name as Name] ?? [];
    for (const name of tuning) {
      if (o.defined.has(name) && !own.includes(name)) {
        throw new ImageError('PP_INVALID_PARAM', `${name} does not apply to filter ${o.name}${own.length ? `, which takes ${own.join(', ')}` : ', which takes no parameters'}`);
      }
    }
  },
  async apply(image, o, { deadline }) {
    const { data, info } = await deadline.bound(image.open(true).raw({ depth: 'uchar' })).toBuffer({ resolveWithObject: true });
    const src: Raster = { data, width: info.width, height: info.height, channels: info.channels };
    const between = () => deadline.check();
    const name = o.name as Name;
    let result: Raster;
    switch (name) {
      case 'blur': result = { ...src, data: await ringBlurAsync(data, info.width, info.height, info.channels) }; break;
      case 'gaussianblur': result = await gaussianBlur(src, o.radius, between); break;
      case 'boxblur': result = await boxBlur(src, o.radius, 1, between); break;
      case 'unsharpmask': result = await unsharpMask(src, o.radius, o.percent, o.threshold, between); break;
      case 'median': result = await rankFilter(src, o.size, (o.size * o.size) >> 1, between); break;
      case 'min': result = await rankFilter(src, o.size, 0, between); break;
      case 'max': result = await rankFilter(src, o.size, o.size * o.size - 1, between); break;
      case 'mode': result = await modeFilter(src, o.size, between); break;
      default: result = await convolve(src, builtinKernels[name], between);
    }
    const out = result.data;
    return image.withRaw(Buffer.from(out.buffer, out.byteOffset, out.byteLength), info);
  },
});
