/** imaginary /autorotate: apply the EXIF orientation. */
import { outputParams } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const autorotate = defineOperation({
  name: 'autorotate',
  origin: 'imaginary',
  summary: 'Rotate and mirror according to the EXIF orientation',
  description:
    'Applies the EXIF orientation so the image is stored upright. In a pipeline no pixel is decoded here: ' +
    'the next step reads the upload already upright, so autorotate then fit costs one decode.',
  // As in imaginary, only the output settings: no resize, no blur.
  params: outputParams,
  // A quarter turn swaps the sides; the preview boxes this serves (Nextcloud's) are square.
  decodeBox: () => 'unchanged',
  async apply(image) {
    return image.withOrientationApplied();
  },
});
