/** Grayscale: thumbor's grayscale() filter, as libvips' luminance (Rec. 709 weights in linear light). */
import { outputParams } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const grayscale = defineOperation({
  name: 'grayscale',
  origin: 'pixelpress',
  summary: 'Convert to grey (thumbor grayscale)',
  description:
    "thumbor's grayscale() filter: the image becomes one grey channel (plus alpha, if it has one). The grey is the CIE " +
    'luminance Y = 0.2126 R + 0.7152 G + 0.0722 B of the linear-light sRGB channels, encoded back with the sRGB curve, as ' +
    'libvips computes it: perceived brightness is kept, where a plain average would darken greens.',
  params: { ...outputParams },
  async apply(image) {
    // toColourspace, not grayscale(): sharp's grayscale() converts back to sRGB on output, three equal channels.
    return image.open(true).toColourspace('b-w');
  },
});
