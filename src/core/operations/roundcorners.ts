/** Rounded corners: thumbor's round_corner(a|b, r, g, b, transparent), each corner cut along a quarter ellipse. */
import { outputParams } from '../imaginary-params.js';
import { param } from '../options.js';
import { between } from '../tone/range.js';
import { srgbPixels } from '../tone/raw.js';
import { defineOperation } from './types.js';

/**
 * Samples per pixel side where the curve crosses a pixel: 256 point samples put the covered area within a couple of
 * levels of 255 (4 x 4 was off by 7 levels on average). Only pixels on the curve are sampled, so this costs little.
 */
const SUBSAMPLES = 16;

export const roundcorners = defineOperation({
  name: 'roundcorners',
  origin: 'pixelpress',
  summary: 'Round the corners (thumbor round_corner)',
  description:
    "thumbor's round_corner filter: each corner is cut along a quarter ellipse of horizontal radius radius (thumbor's a) " +
    "and vertical radius radiusy (thumbor's b, default radius), each at most half the image's side. Outside the curve " +
    'the image is transparent, or background (R,G,B) when given (thumbor\'s r,g,b; a JPEG, which has no alpha, is white ' +
    'there otherwise). Pixels the curve crosses are antialiased by their covered fraction.',
  params: {
    radius: param(between(1, 100_000, true), 0, 'Horizontal corner radius in pixels, 1-100000 (thumbor a); capped at half the width.'),
    radiusy: param(between(1, 100_000, true), 0, 'Vertical corner radius (thumbor b), default radius; capped at half the height.'),
    ...outputParams,
  },
  required: ['radius'],
  async apply(image, o, { deadline }) {
    const { data, info } = await srgbPixels(image, deadline, 'add');
    const { width, height } = info;
    const rx = Math.min(o.radius, width / 2);
    const ry = Math.min(o.radiusy || o.radius, height / 2);
    // Coverage of one corner box, top-left orientation; the other corners are its mirror images.
    const boxWidth = Math.ceil(rx);
    const boxHeight = Math.ceil(ry);
    // Covered samples, 0-256: two bytes each, for a box can be a quarter of a large image.
    const coverage = new Uint16Array(boxWidth * boxHeight);
    const inEllipse = (px: number, py: number) => {
      const dx = (px - rx) / rx;
      const dy = (py - ry) / ry;
      return dx >= 0 || dy >= 0 || dx * dx + dy * dy <= 1;
    };
    for (let y = 0; y < boxHeight; y++) {
      for (let x = 0; x < boxWidth; x++) {
        // The pixel's corner farthest from the ellipse's centre inside: all covered; the nearest outside: none.
        if (inEllipse(x, y)) coverage[y * boxWidth + x] = SUBSAMPLES * SUBSAMPLES;
        else if (!inEllipse(x + 1, y + 1)) coverage[y * boxWidth + x] = 0;
        else {
          let inside = 0;
          for (let sy = 0; sy < SUBSAMPLES; sy++) {
            for (let sx = 0; sx < SUBSAMPLES; sx++) if (inEllipse(x + (sx + 0.5) / SUBSAMPLES, y + (sy + 0.5) / SUBSAMPLES)) inside++;
          }
          coverage[y * boxWidth + x] = inside;
        }
      }
    }
    // Rows and columns of the four corner boxes, each once: with a radius of half the side, opposite boxes meet.
    const span = (box: number, size: number) => [...new Set([...Array(box).keys(), ...Array.from({ length: box }, (_, i) => size - box + i)])];
    const columns = span(boxWidth, width);
    for (const y of span(boxHeight, height)) {
      const row = Math.min(y, height - 1 - y) * boxWidth;
      for (const x of columns) {
        const covered = coverage[row + Math.min(x, width - 1 - x)]!;
        const at = (y * width + x) * 4 + 3;
        if (covered < SUBSAMPLES * SUBSAMPLES) data[at] = Math.round((data[at]! * covered) / (SUBSAMPLES * SUBSAMPLES));
      }
    }
    const rounded = image.withRaw(data, info);
    if (!o.background) return rounded;
    const [r, g, b] = o.background;
    return rounded.open(true).flatten({ background: { r, g, b } });
  },
});
