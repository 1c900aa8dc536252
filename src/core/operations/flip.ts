/** imaginary /flip: mirror left and right. */
import { processImage } from '../transform.js';
import { commonParams, defineOperation } from './types.js';

export const flip = defineOperation({
  name: 'flip',
  summary: 'Mirror left and right',
  description: "imaginary's flip mirrors around the vertical axis (left and right swap). Other parameters (width, height...) apply too.",
  params: commonParams,
  required: [],
  validate() {},
  apply(image, o, { limits }) {
    return processImage(image, { ...o, flip: true }, {}, limits);
  },
});
