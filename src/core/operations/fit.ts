/** imaginary /fit: the largest aspect-preserving box inside width x height; smaller images are not enlarged. */
import { fitBox } from '../geometry.js';
import { autoOrientFor, processImage } from '../transform.js';
import { commonParams, pick } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const fit = defineOperation({
  name: 'fit',
  origin: 'imaginary',
  summary: 'Fit inside width x height, keeping the aspect ratio',
  description:
    'Scales the image to the largest size that fits inside width x height without changing its aspect ratio. ' +
    'Images already smaller are returned at their size. The EXIF orientation is taken into account unless norotation=true.',
  params: { ...pick('width', 'height'), ...commonParams },
  required: ['height', 'width'],
  decodeBox: (o) => ({ width: o.width, height: o.height, fit: 'inside' }),
  apply(image, o, context) {
    const { width, height } = image.size(autoOrientFor(o));
    return processImage(image, o, { embed: true, size: fitBox(width, height, o.width, o.height) }, context);
  },
});
