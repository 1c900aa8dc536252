/** imaginary /extract: copy out the areawidth x areaheight rectangle at (left, top). */
import { processImage } from '../transform.js';
import { commonParams, pick } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const extract = defineOperation({
  name: 'extract',
  origin: 'imaginary',
  summary: 'Extract the area at left, top of size areawidth x areaheight',
  description: 'Copies out a rectangle. top and left default to 0; an area outside the image is a 400 error naming it.',
  params: { ...pick('areawidth', 'areaheight', 'top', 'left'), ...commonParams },
  required: ['areawidth', 'areaheight'],
  // imaginary's wording.
  missing: 'Missing required params: areawidth or areaheight',
  apply(image, o, context) {
    const area = { top: o.top, left: o.left, width: o.areawidth, height: o.areaheight };
    return processImage(image, o, { area }, context);
  },
});
