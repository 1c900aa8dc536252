/** imaginary /autorotate: apply the EXIF orientation. */
import { defineOperation } from './types.js';

export const autorotate = defineOperation({
  name: 'autorotate',
  summary: 'Rotate and mirror according to the EXIF orientation',
  description:
    'Applies the EXIF orientation so the image is stored upright. In a pipeline no pixel is decoded here: ' +
    'the next step reads the upload already upright, so autorotate then fit costs one decode.',
  params: ['type', 'quality', 'compression', 'interlace', 'palette', 'speed', 'stripmeta', 'noprofile'],
  required: [],
  validate() {},
  async apply(image) {
    return image.withOrientationApplied();
  },
});
