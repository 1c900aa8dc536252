/** imaginary /extract: copy out the areawidth x areaheight rectangle at (left, top). */
import { requireParam } from '../options.js';
import { processImage } from '../transform.js';
import { commonParams, defineOperation } from './types.js';

export const extract = defineOperation({
  name: 'extract',
  summary: 'Extract the area at left, top of size areawidth x areaheight',
  description: 'Copies out a rectangle. top and left default to 0; an area outside the image is a 400 error naming it.',
  params: ['areawidth', 'areaheight', 'top', 'left', ...commonParams],
  required: ['areawidth', 'areaheight'],
  validate(o) {
    requireParam(o.areawidth > 0 && o.areaheight > 0, 'Missing required params: areawidth or areaheight');
  },
  apply(image, o, context) {
    const area = { top: o.top, left: o.left, width: o.areawidth, height: o.areaheight };
    return processImage(image, o, { area }, context);
  },
});
