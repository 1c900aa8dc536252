/** Negate: every colour channel v becomes 255 - v, as ImageMagick's -negate; alpha is kept. */
import { outputParams } from '../imaginary-params.js';
import { defineOperation } from './types.js';

export const negate = defineOperation({
  name: 'negate',
  origin: 'pixelpress',
  summary: 'Invert the colours (a negative)',
  description:
    'Neither imgproxy nor thumbor has it; this is ImageMagick\'s -negate and sharp\'s negate: each colour channel v ' +
    'becomes 255 - v. Transparency is kept as it was.',
  params: { ...outputParams },
  async apply(image) {
    return image.open(true).negate({ alpha: false });
  },
});
