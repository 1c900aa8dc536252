/**
 * Output geometry, ported from bimg's resizer (imageCalculations, normalizeOperation, extractOrEmbedImage)
 * because imaginary's clients depend on its exact output sizes. Pure arithmetic: no pixels here.
 */
import { ImageError } from './errors.js';
import type { Limits } from './limits.js';
import type { AspectRatio, Gravity } from './params.js';

export interface ResizeIntent {
  width: number;
  height: number;
  crop: boolean;
  embed: boolean;
  enlarge: boolean;
  force: boolean;
  /** Explicit rotation stops bimg from forcing a plain resize. */
  rotate: number;
  gravity: Gravity;
  /** Zoom multiplies the size by factor+1 before anything else, as bimg's vips_zoom. */
  zoom: number;
  area?: { top: number; left: number; width: number; height: number } | undefined;
  aspectratio?: AspectRatio | undefined;
}

export type Finish =
  | { kind: 'none' }
  | { kind: 'extract'; left: number; top: number; width: number; height: number }
  | { kind: 'smartcrop'; width: number; height: number }
  | { kind: 'embed'; left: number; top: number; width: number; height: number };

export interface ResizePlan {
  /** Size after zoom (pixel replication), if any. */
  zoomed?: { width: number; height: number } | undefined;
  /** Size to scale to, if any. */
  scale?: { width: number; height: number } | undefined;
  finish: Finish;
  output: { width: number; height: number };
}

/** bimg's getAngle: round down to a multiple of 90, at most 270. */
export function rightAngle(rotate: number): 0 | 90 | 180 | 270 {
  return Math.min(rotate - (rotate % 90), 270) as 0 | 90 | 180 | 270;
}

/** imaginary's calculateDestinationFitDimension: the aspect-preserving box inside width x height. */
export function fitBox(inWidth: number, inHeight: number, width: number, height: number): { width: number; height: number } {
  if (inWidth * height > width * inHeight) return { width, height: Math.round((width * inHeight) / inWidth) };
  return { width: Math.round((height * inWidth) / inHeight), height };
}

/** bimg's calculateCrop. */
function cropOffset(inW: number, inH: number, outW: number, outH: number, gravity: Gravity): { left: number; top: number } {
  const centreLeft = Math.trunc((inW - outW + 1) / 2);
  const centreTop = Math.trunc((inH - outH + 1) / 2);
  switch (gravity) {
    case 'north': return { left: centreLeft, top: 0 };
    case 'east': return { left: inW - outW, top: centreTop };
    case 'south': return { left: centreLeft, top: inH - outH };
    case 'west': return { left: 0, top: centreTop };
    default: return { left: centreLeft, top: centreTop };
  }
}

/** Refuses an output over the limits before it is allocated: resize plans, padding and any-angle rotation all ask here. */
export function checkOutputSize(width: number, height: number, limits: Limits): void {
  if (width > limits.maxOutputDimension || height > limits.maxOutputDimension || width * height > limits.maxOutputPixels) {
    throw new ImageError(
      'PP_OUTPUT_TOO_LARGE',
      `Output of ${width}x${height} exceeds the limits of ${limits.maxOutputDimension} pixels a side and ${limits.maxOutputPixels} pixels in all`,
    );
  }
}

export function planResize(inWidth: number, inHeight: number, intent: ResizeIntent, limits: Limits): ResizePlan {
  let { width, height, crop, embed, force } = intent;
  const { enlarge, gravity } = intent;
  let inW = inWidth;
  let inH = inHeight;
  let zoomed: ResizePlan['zoomed'];
  if (intent.zoom > 0) {
    zoomed = { width: inW * (intent.zoom + 1), height: inH * (intent.zoom + 1) };
    checkOutputSize(zoomed.width, zoomed.height, limits);
    inW = zoomed.width;
    inH = zoomed.height;
  }

  // imaginary's aspectratio: integer arithmetic, only when exactly one side is given.
  if (intent.aspectratio && (width > 0) !== (height > 0)) {
    const { width: rw, height: rh } = intent.aspectratio;
    if (width > 0) height = Math.trunc(width / rw) * rh;
    else width = Math.trunc(height / rh) * rw;
  }

  // bimg's normalizeOperation: a bare width/height means a plain resize.
  if (!force && !crop && !embed && !enlarge && intent.rotate === 0 && (width > 0 || height > 0)) force = true;

  let factor = 1;
  if (width > 0 && height > 0) {
    factor = crop ? Math.min(inW / width, inH / height) : Math.max(inW / width, inH / height);
  } else if (width > 0) {
    if (crop) height = inH;
    else {
      factor = inW / width;
      height = Math.max(1, Math.round(inH / factor));
    }
  } else if (height > 0) {
    if (crop) width = inW;
    else {
      factor = inH / height;
      width = Math.max(1, Math.round(inW / factor));
    }
  } else {
    width = inW;
    height = inH;
  }

  if (!enlarge && !force && inW < width && inH < height) {
    factor = 1;
    width = inW;
    height = inH;
  }
  checkOutputSize(width, height, limits);

  const area = intent.area;
  const transform = force || width !== inW || height !== inH || (area !== undefined && (area.width > 0 || area.height > 0));
  let scale: ResizePlan['scale'];
  let curW = inW;
  let curH = inH;
  if (transform && (force || factor !== 1)) {
    scale = force
      ? { width, height }
      : { width: Math.max(1, Math.round(inW / factor)), height: Math.max(1, Math.round(inH / factor)) };
    checkOutputSize(scale.width, scale.height, limits);
    curW = scale.width;
    curH = scale.height;
  }
  if (force) {
    crop = false;
    embed = false;
  }

  let finish: Finish = { kind: 'none' };
  if (transform) {
    if (crop && gravity === 'smart') {
      if (curW > width || curH > height) finish = { kind: 'smartcrop', width: Math.min(curW, width), height: Math.min(curH, height) };
    } else if (crop) {
      const w = Math.min(curW, width);
      const h = Math.min(curH, height);
      const offset = cropOffset(curW, curH, width, height, gravity);
      const left = Math.max(0, offset.left);
      const top = Math.max(0, offset.top);
      if (w !== curW || h !== curH) finish = { kind: 'extract', left, top, width: w, height: h };
    } else if (embed) {
      if (width !== curW || height !== curH) {
        // Rounding can leave the scaled side one pixel over the box; never pad by a negative amount.
        const w = Math.max(width, curW);
        const h = Math.max(height, curH);
        finish = { kind: 'embed', left: Math.trunc((w - curW) / 2), top: Math.trunc((h - curH) / 2), width: w, height: h };
      }
    } else if (area && (area.top !== 0 || area.left !== 0 || area.width !== 0 || area.height !== 0)) {
      const w = area.width || width;
      const h = area.height || height;
      if (area.left + w > curW || area.top + h > curH || w === 0 || h === 0) {
        throw new ImageError(
          'PP_INVALID_PARAM',
          `Expected an area inside the ${curW}x${curH} image but received left=${area.left} top=${area.top} areawidth=${w} areaheight=${h}`,
        );
      }
      finish = { kind: 'extract', left: area.left, top: area.top, width: w, height: h };
    }
  }

  const output =
    finish.kind === 'none' ? { width: curW, height: curH } : { width: finish.width, height: finish.height };
  checkOutputSize(output.width, output.height, limits);
  return { zoomed, scale, finish, output };
}
