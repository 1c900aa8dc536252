/** imaginary /zoom: enlarge factor+1 times by pixel replication, optionally extracting an area. */
import { processImage } from '../transform.js';
import { commonParams, pick } from '../imaginary-params.js';
import { requireParam } from '../options.js';
import { defineOperation } from './types.js';

export const zoom = defineOperation({
  name: 'zoom',
  origin: 'imaginary',
  summary: 'Zoom in factor+1 times',
  description: 'Enlarges the image factor+1 times (factor=1 doubles it) by repeating pixels. With top or left, the areawidth x areaheight area of the zoomed image is extracted.',
  params: { ...pick('factor', 'top', 'left', 'areawidth', 'areaheight'), ...commonParams },
  required: ['factor'],
  check(o) {
    if (o.top > 0 || o.left > 0) {
      requireParam(o.areawidth > 0 || o.areaheight > 0, 'Missing required params: areawidth, areaheight');
    }
  },
  apply(image, o, context) {
    const area = o.top > 0 || o.left > 0 ? { top: o.top, left: o.left, width: o.areawidth, height: o.areaheight } : undefined;
    return processImage(image, o, { zoom: o.factor, area }, context);
  },
});
