/**
 * The shared body of imaginary's operations (bimg's resizer): orientation, rotation, mirroring, resize with
 * crop or embed, blur, flatten, colour space and watermark, built as one sharp pipeline per operation.
 */
import sharp, { type Sharp } from 'sharp';
import type { Deadline } from './encoders/deadline.js';
import { ImageError } from './errors.js';
import { planResize, rightAngle, type ResizeIntent } from './geometry.js';
import { classifyDecodeError, type WorkingImage } from './image.js';
import type { OperationContext } from './operations/types.js';
import type { CommonOptions, TextOptions } from './imaginary-params.js';
import { countLines, fontSize, withFontSize, type ExtendMode, type FontSize, type Rgb } from './params.js';

/** The resizer reads the common parameters, and the text ones when the operation has them (only /watermark). */
export type ProcessOptions = CommonOptions & Partial<TextOptions>;

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
export function autoOrientFor(o: Pick<CommonOptions, 'norotation' | 'rotate'>): boolean {
  return !o.norotation && rightAngle(o.rotate) === 0;
}

export async function processImage(image: WorkingImage, o: ProcessOptions, flags: ProcessFlags, context: OperationContext): Promise<Sharp> {
  const { limits, deadline } = context;
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
  // imaginary's flip mirrors left-right (sharp's flop) and its flop mirrors top-bottom (sharp's flip), after the
  // rotation (bimg rotates, then mirrors). sharp mirrors before it rotates, whatever the call order, so after a quarter
  // turn the mirror axis is swapped to give the same image.
  const quarterTurn = angle === 90 || angle === 270;
  if (o.flip) (quarterTurn ? pipeline.flip() : pipeline.flop());
  if (o.flop) (quarterTurn ? pipeline.flop() : pipeline.flip());

  const { finish } = plan;
  if (finish.kind === 'smartcrop' && context.frames) {
    // A frame of an animation: every frame is cut at the window the first frame's attention picked, so it holds still.
    const { left, top } = await context.frames.once('smartcrop', () => attentionWindow(context.frames!.first, o, flags, context));
    pipeline.resize(finish.width, finish.height, { fit: 'outside' }).extract({ left, top, width: finish.width, height: finish.height });
  } else if (finish.kind === 'smartcrop') {
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
  if (o.text) {
    const text = o.text;
    const render = () => renderWatermark(text, o, plan.output, deadline);
    // Every frame of an animation gets the same text: rendered once.
    const rendered = context.frames ? await context.frames.once('text', render) : await render();
    addWatermark(pipeline, rendered, o);
  }
  return pipeline;
}

/**
 * Where smartcrop cuts `image`, in the scaled image: sharp's 'outside' resize scales exactly as its 'cover' does, so
 * an extract there afterwards gives the cover crop's pixels.
 */
async function attentionWindow(image: WorkingImage, o: ProcessOptions, flags: ProcessFlags, context: OperationContext): Promise<{ left: number; top: number }> {
  const pipeline = await processImage(image, o, flags, { ...context, frames: undefined });
  const { info } = await context.deadline.bound(pipeline.raw()).toBuffer({ resolveWithObject: true });
  // sharp reports the window's offset negated.
  return { left: -(info.cropOffsetLeft ?? 0), top: -(info.cropOffsetTop ?? 0) };
}

/** Pango's size when a font description names none: 12 points. */
const PANGO_DEFAULT_SIZE: FontSize = { size: 12, pixels: false };

/**
 * Text is first rendered with letters at most this many pixels tall: a render scales with the font size, so a small one
 * predicts the real one's size (within 5% at 16-32 pixels, measured on Latin and CJK text) for a fraction of the pixels.
 */
const PROBE_EM_PIXELS = 32;

/** Pixels a prediction render may take at most (16 MB of RGBA), going by renderBound. */
const PROBE_BUDGET_PIXELS = 4_000_000;

/** Below this, Pango may draw nothing at all. */
const PROBE_MIN_EM_PIXELS = 2;

/** How far over the output a predicted size may be and still be rendered for the exact check: the prediction's error, doubled. */
const PREDICTION_SLACK = 1.1;

/**
 * An upper bound of the pixels text takes at letter height `em`, whatever Pango's line breaking does: any character
 * may end a line (CJK text breaks anywhere), and a run without spaces may not be broken (Latin words overflow the box).
 * Glyphs are taken as 1.5 em wide and lines as 1.5 em tall.
 */
function renderBound(text: string, em: number, boxWidth: number): number {
  const longestRun = Math.max(...text.split(/\s+/).map((run) => [...run].length));
  const width = Math.max(boxWidth, longestRun * 1.5 * em);
  const height = ([...text].length + countLines(text)) * 1.5 * em;
  return width * height;
}

/**
 * Render the watermark text. Its size is known before the real render: letters taller than the
 * output, or a text predicted larger than it, is refused (it could never be drawn whole), so a request cannot make Pango
 * render gigapixels; what is rendered is about the output's size at most.
 */
async function renderWatermark(text: string, o: Partial<TextOptions>, size: { width: number; height: number }, deadline: Deadline): Promise<RenderedText> {
  const dpi = o.dpi || 150;
  const description = o.font || 'sans 10';
  const points = fontSize('font', description) ?? PANGO_DEFAULT_SIZE;
  const em = points.pixels ? points.size : (points.size * dpi) / 72;
  const boxWidth = Math.max(1, Math.min(o.textwidth || Math.floor(size.width / 6), size.width));
  const margin = o.margin || 0;
  const opacity = o.opacity ? Math.min(o.opacity, 1) : 0.25;
  if (em > size.height) {
    throw new ImageError(
      'PP_INVALID_PARAM',
      `Watermark letters of font "${description}" at dpi ${dpi} would be ${Math.round(em)} pixels tall, taller than the ${size.height}-pixel-high image: lower the font size or dpi`,
    );
  }
  const tooLarge = (width: number, height: number, about: string) =>
    new ImageError(
      'PP_INVALID_PARAM',
      `Watermark text would be ${about}${width}x${height} pixels${margin ? ` plus margin ${margin}` : ''}, larger than the ${size.width}x${size.height} image: ` +
        'shorten text, or lower the font size, dpi, textwidth or margin',
    );

  const probeEm = Math.max(PROBE_MIN_EM_PIXELS, Math.min(em, PROBE_EM_PIXELS, em * Math.sqrt(PROBE_BUDGET_PIXELS / renderBound(text, em, boxWidth))));
  if (probeEm < em) {
    const scale = em / probeEm;
    const probeFont = withFontSize(description, { size: points.size / scale, pixels: points.pixels });
    const probe = await renderText(text, probeFont, dpi, Math.max(1, Math.round(boxWidth / scale)), 1, o.color, deadline);
    const width = Math.round(probe.info.width * scale);
    const height = Math.round(probe.info.height * scale);
    if (width + margin > size.width * PREDICTION_SLACK || height + margin > size.height * PREDICTION_SLACK) throw tooLarge(width, height, 'about ');
  }
  const rendered = await renderText(text, description, dpi, boxWidth, opacity, o.color, deadline);
  const { width, height } = rendered.info;
  if (width + margin > size.width || height + margin > size.height) throw tooLarge(width, height, '');
  return rendered;
}

/** Draw rendered text, tiled or once at (margin, margin). */
function addWatermark(pipeline: Sharp, rendered: RenderedText, o: Partial<TextOptions>): void {
  const margin = o.margin || 0;
  const { width, height } = rendered.info;
  const input = { raw: { width, height, channels: 4 as const } };
  pipeline.composite([
    o.noreplicate
      ? { input: rendered.data, ...input, left: margin, top: margin }
      : { input: rendered.data, ...input, tile: true, gravity: 'northwest' },
  ]);
}

interface RenderedText {
  data: Buffer;
  info: { width: number; height: number };
}

/** Render text as RGBA pixels, wrapped at spaces within `width`: a word wider than that overflows it, as in imaginary. */
async function renderText(text: string, font: string, dpi: number, width: number, opacity: number, color: Rgb | undefined, deadline: Deadline): Promise<RenderedText> {
  const [r, g, b] = color ?? [255, 255, 255];
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const colour = `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
  const render = sharp({ text: { text: `<span foreground="${colour}">${escaped}</span>`, font, width, dpi, rgba: true, wrap: 'word' } })
    // Scale the alpha channel only: that is the watermark's opacity.
    .linear([1, 1, 1, opacity], [0, 0, 0, 0])
    .raw({ depth: 'uchar' });
  try {
    return await deadline.bound(render).toBuffer({ resolveWithObject: true });
  } catch (err) {
    // Blank text, or letters under a pixel: libvips has nothing to draw.
    if (err instanceof Error && /no text to render/i.test(err.message)) {
      throw new ImageError('PP_INVALID_PARAM', 'The watermark text draws nothing at this font size and dpi: check text, font and dpi', { cause: err });
    }
    throw classifyDecodeError(err);
  }
}
