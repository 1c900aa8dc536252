/** imaginary /flop: mirror top and bottom. */
import { processImage } from '../transform.js';
import { commonParams, defineOperation } from './types.js';

export const flop = defineOperation({
  name: 'flop',
  summary: 'Mirror top and bottom',
  description: "imaginary's flop mirrors around the horizontal axis (top and bottom swap). Other parameters (width, height...) apply too.",
  params: commonParams,
  required: [],
  validate() {},
  apply(image, o, { limits }) {
    return processImage(image, { ...o, flop: true }, {}, limits);
  },
});
