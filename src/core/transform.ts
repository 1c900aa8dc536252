/**
 * The shared body of imaginary's operations (bimg's resizer): orientation, rotation, mirroring, resize with
 * crop or embed, blur, flatten, colour space and watermark, built as one sharp pipeline per operation.
 */
import sharp, { type Sharp } from 'sharp';
import { planResize, rightAngle, type ResizeIntent } from './geometry.js';
import type { WorkingImage } from './image.js';
import type { Limits } from './limits.js';
import type { ImageOptions } from './options.js';
import type { ExtendMode, Rgb } from './params.js';

/** Per-operation switches, as imaginary's controllers set them on bimg options. */
export interface ProcessFlags {
  crop?: boolean;
  embed?: boolean;
  enlarge?: boolean;
  force?: boolean;
  smart?: boolean;
  area?: ResizeIntent['area'];
  zoom?: number;
  /** Overrides width/height (fit computes its own box). */
  size?: { width: number; height: number };
}

function extendWith(mode: ExtendMode, background: Rgb | undefined): { extendWith: 'copy' | 'mirror' | 'background'; background?: { r: number; g: number; b: number } } {
  switch (mode) {
    case 'copy':
    case 'lastpixel': return { extendWith: 'copy' };
    case 'mirror': return { extendWith: 'mirror' };
    case 'white': return { extendWith: 'background', background: { r: 255, g: 255, b: 255 } };
    case 'background': {
      const [r, g, b] = background ?? [0, 0, 0];
      return { extendWith: 'background', background: { r, g, b } };
    }
    default: return { extendWith: 'background', background: { r: 0, g: 0, b: 0 } };
  }
}

/** Whether the operation applies the EXIF orientation: unless norotation, or an explicit rotation replaces it. */
export function autoOrientFor(o: ImageOptions): boolean {
  return !o.norotation && rightAngle(o.rotate) === 0;
}

export async function processImage(image: WorkingImage, o: ImageOptions, flags: ProcessFlags, limits: Limits): Promise<Sharp> {
  const autoOrient = autoOrientFor(o);
  const angle = rightAngle(o.rotate);
  const stored = image.size(autoOrient);
  const swap = angle === 90 || angle === 270;
  const inWidth = swap ? stored.height : stored.width;
  const inHeight = swap ? stored.width : stored.height;

  const plan = planResize(
    inWidth,
    inHeight,
    {
      width: flags.size?.width ?? o.width,
      height: flags.size?.height ?? o.height,
      crop: flags.crop ?? false,
      embed: flags.embed ?? o.embed,
      enlarge: flags.enlarge ?? false,
      force: flags.force ?? o.force,
      rotate: angle,
      gravity: flags.smart ? 'smart' : o.gravity,
      zoom: flags.zoom ?? 0,
      area: flags.area,
      aspectratio: o.aspectratio,
    },
    limits,
  );

  const pipeline = image.open(autoOrient);
  if (angle !== 0) pipeline.rotate(angle);
  // imaginary's flip mirrors left-right (sharp's flop) and its flop mirrors top-bottom (sharp's flip).
  if (o.flip) pipeline.flop();
  if (o.flop) pipeline.flip();

  const { finish } = plan;
  if (finish.kind === 'smartcrop') {
    // One cover resize both scales and picks the most interesting region, as bimg's scale + vips_smartcrop.
    pipeline.resize(finish.width, finish.height, { fit: 'cover', position: sharp.strategy.attention });
  } else {
    const target = plan.scale ?? plan.zoomed;
    if (target) pipeline.resize(target.width, target.height, { fit: 'fill', ...(plan.scale ? {} : { kernel: 'nearest' as const }) });
    const current = target ?? { width: inWidth, height: inHeight };
    if (finish.kind === 'extract') {
      pipeline.extract({ left: finish.left, top: finish.top, width: finish.width, height: finish.height });
    } else if (finish.kind === 'embed') {
      const right = finish.width - current.width - finish.left;
      const bottom = finish.height - current.height - finish.top;
      pipeline.extend({ left: finish.left, top: finish.top, right, bottom, ...extendWith(o.extend, o.background) });
    }
  }

  if (o.sigma > 0 || o.minampl > 0) {
    // sharp needs sigma >= 0.3; a bare minampl asks for the mildest blur.
    pipeline.blur({ sigma: Math.max(o.sigma, 0.3), ...(o.minampl > 0 ? { minAmplitude: o.minampl } : {}) });
  }
  if (o.background && image.hasAlpha) {
    const [r, g, b] = o.background;
    pipeline.flatten({ background: { r, g, b } });
  }
  if (o.colorspace === 'bw') pipeline.toColourspace('b-w');
  if (o.text) await addTextWatermark(pipeline, o, plan.output);
  return pipeline;
}

async function addTextWatermark(pipeline: Sharp, o: ImageOptions, size: { width: number; height: number }): Promise<void> {
  const [r, g, b] = o.color ?? [255, 255, 255];
  const opacity = o.opacity === 0 ? 0.25 : Math.min(o.opacity, 1);
  const escaped = o.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const colour = `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
  const textWidth = Math.max(1, Math.min(o.textwidth || Math.floor(size.width / 6), size.width));
  const rendered = await sharp({
    text: {
      text: `<span foreground="${colour}">${escaped}</span>`,
      font: o.font || 'sans 10',
      width: textWidth,
      dpi: o.dpi || 150,
      rgba: true,
      wrap: 'word',
    },
  })
    // Scale the alpha channel only: that is the watermark's opacity.
    .linear([1, 1, 1, opacity], [0, 0, 0, 0])
    .png()
    .toBuffer({ resolveWithObject: true });
  const margin = o.margin || 0;
  const fits = rendered.info.width + margin <= size.width && rendered.info.height + margin <= size.height;
  if (!fits) return;
  pipeline.composite([
    o.noreplicate
      ? { input: rendered.data, left: margin, top: margin }
      : { input: rendered.data, tile: true, gravity: 'northwest' },
  ]);
}
