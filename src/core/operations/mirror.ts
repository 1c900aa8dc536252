/** imaginary /flip and /flop: the same mirroring, around the vertical or the horizontal axis. */
import { processImage } from '../transform.js';
import { commonParams } from '../imaginary-params.js';
import { defineOperation, type Operation } from './types.js';

function mirror(name: 'flip' | 'flop', summary: string, axis: string): Operation {
  return defineOperation({
    name,
    origin: 'imaginary',
    summary,
    description: `imaginary's ${name} mirrors around the ${axis} axis. Other parameters (width, height...) apply too.`,
    params: commonParams,
    apply(image, o, context) {
      return processImage(image, { ...o, [name]: true }, {}, context);
    },
  });
}

export const flip = mirror('flip', 'Mirror left and right', 'vertical');
export const flop = mirror('flop', 'Mirror top and bottom', 'horizontal');
