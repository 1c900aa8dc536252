/**
 * Animated GIF and WebP: what an animation carries besides its pixels, and how a step runs over it frame by frame.
 *
 * sharp reads an animation as one tall "toilet roll" image, the frames stacked top to bottom. A convolution over the
 * roll bleeds each frame's edge into its neighbour's, a vertical flip reverses the frame order, and sharp refuses
 * quarter turns, smart crops and trims of a roll outright. So no operation ever sees the roll: every step runs on each
 * frame alone (a raw single-frame image, as from any earlier step), and the frames are stacked again afterwards.
 */
import type { OutputInfo, Sharp } from 'sharp';
import type { Deadline } from './encoders/deadline.js';
import { ImageError } from './errors.js';
import type { WorkingImage } from './image.js';
import type { Limits } from './limits.js';
import type { OutputType } from './params.js';

/** The timing of an animation, as sharp's metadata reports it and its GIF and WebP encoders take it. */
export interface Animation {
  readonly frames: number;
  /** Height of one frame; the roll is frames x pageHeight rows. */
  readonly pageHeight: number;
  /** Milliseconds each frame shows, one per frame. */
  readonly delay: readonly number[];
  /** Times the animation plays; 0 is for ever. */
  readonly loop: number;
}

/** The output formats that can hold an animation; every other one gets the first frame. */
const animatedTypes: readonly OutputType[] = ['gif', 'webp'];

export function canAnimate(type: OutputType): boolean {
  return animatedTypes.includes(type);
}

/** A frame the header gives no delay for shows for 100 ms (a GIF's 10 centiseconds), a common display default. */
const DEFAULT_DELAY_MS = 100;

/** The animation an upload's header declares, or undefined when it has one frame (or is a multi-page TIFF/HEIF, not an animation). */
export function declaredAnimation(meta: { format?: string; pages?: number; pageHeight?: number; height?: number; delay?: number[]; loop?: number }): Animation | undefined {
  const frames = meta.pages ?? 1;
  if (frames < 2 || (meta.format !== 'gif' && meta.format !== 'webp')) return undefined;
  const delay = Array.from({ length: frames }, (_, index) => meta.delay?.[index] ?? DEFAULT_DELAY_MS);
  return { frames, pageHeight: meta.pageHeight ?? meta.height ?? 0, delay, loop: meta.loop ?? 0 };
}

/**
 * What a step running on one frame of an animation knows about the others. Steps whose choice depends on the pixels
 * (smartcrop's window, trim's box) make it once, on the first frame, so every frame is cut alike and the result is
 * still an animation instead of frames of different sizes or a crop window that jumps.
 */
export interface FrameContext {
  readonly index: number;
  readonly count: number;
  readonly first: WorkingImage;
  /** `compute()` once per step, shared by every frame. */
  once<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

/** A step as applyToFrames runs it on one frame: the sharp pipeline that gives the processed frame. */
export type FrameStep = (frame: WorkingImage, frames: FrameContext) => Promise<Sharp>;

/**
 * Run `step` on every frame of `image` (an animation roll), one after the other, and stack the results again with the
 * same timing. Output limits apply to the whole animation: the first frame's size times the frame count is checked
 * against maxAnimationPixels before the other frames are processed.
 */
export async function applyToFrames(image: WorkingImage, step: FrameStep, limits: Limits, deadline: Deadline): Promise<WorkingImage> {
  const animation = image.animation!;
  const frames = image.frames();
  const first = frames[0]!;
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, compute: () => Promise<T>): Promise<T> => {
    if (!memo.has(key)) memo.set(key, compute());
    return memo.get(key) as Promise<T>;
  };
  const done: { data: Buffer; info: OutputInfo }[] = [];
  for (const [index, frame] of frames.entries()) {
    deadline.check();
    const pipeline = await step(frame, { index, count: frames.length, first, once });
    const raw = await deadline.bound(pipeline.raw()).toBuffer({ resolveWithObject: true });
    if (index === 0) checkAnimationOutput(raw.info, frames.length, limits);
    done.push(raw);
  }
  return stack(done, animation, image);
}

function checkAnimationOutput(info: OutputInfo, frames: number, limits: Limits): void {
  const pixels = info.width * info.height * frames;
  if (pixels > limits.maxAnimationPixels) {
    throw new ImageError(
      'PP_OUTPUT_TOO_LARGE',
      `Output animation of ${frames} frames of ${info.width}x${info.height} (${pixels} pixels) exceeds the limit of ${limits.maxAnimationPixels} pixels`,
    );
  }
}

/** Stack processed frames into a roll again; every frame went through the same step, so their shapes agree. */
function stack(done: readonly { data: Buffer; info: OutputInfo }[], animation: Animation, from: WorkingImage): WorkingImage {
  const { width, height, channels } = done[0]!.info;
  for (const { info } of done) {
    // A step that shaped frames differently would stack into garbage: refuse instead (no operation does today).
    if (info.width !== width || info.height !== height || info.channels !== channels) {
      throw new ImageError('PP_UNDECODABLE', `The frames of the animation came out in different sizes (${width}x${height} and ${info.width}x${info.height})`);
    }
  }
  const data = Buffer.concat(done.map((frame) => frame.data));
  const info = { ...done[0]!.info, height: height * done.length, size: data.length };
  return from.withRaw(data, info, undefined, { ...animation, pageHeight: height });
}
