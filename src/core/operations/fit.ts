/** imaginary /fit: the largest aspect-preserving box inside width x height; smaller images are not enlarged. */
import { fitBox } from '../geometry.js';
import { requireParam } from '../options.js';
import { autoOrientFor, processImage } from '../transform.js';
import { commonParams, defineOperation } from './types.js';

export const fit = defineOperation({
  name: 'fit',
  summary: 'Fit inside width x height, keeping the aspect ratio',
  description:
    'Scales the image to the largest size that fits inside width x height without changing its aspect ratio. ' +
    'Images already smaller are returned at their size. The EXIF orientation is taken into account unless norotation=true.',
  params: ['width', 'height', ...commonParams],
  required: ['width', 'height'],
  validate(o) {
    requireParam(o.width > 0 && o.height > 0, 'Missing required params: height, width');
  },
  apply(image, o, context) {
    const { width, height } = image.size(autoOrientFor(o));
    return processImage(image, o, { embed: true, size: fitBox(width, height, o.width, o.height) }, context);
  },
});
