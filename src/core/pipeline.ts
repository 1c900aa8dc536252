/**
 * run(input, steps, limits): the one way images are processed, for HTTP, CLI and library alike.
 * Steps run in the order given. Between steps the image is handed on as raw pixels, never re-encoded, so a
 * pipeline loses no quality to intermediate JPEGs and the last step writes the only encoding.
 */
import type { Sharp } from 'sharp';
import { applyToFrames, canAnimate } from './animation.js';
import { defaultOutputFor, encode, encodesAtOnce, mimeTypes } from './encode.js';
import { Deadline } from './encoders/deadline.js';
import { runIsolated, type IsolatedJob } from './encoders/isolated.js';
import { exifOrientation } from './exif.js';
import { keepSamples, withKnownProfile } from './fidelity.js';
import { rightAngle } from './geometry.js';
import { embedIccInJpeg } from './icc.js';
import { ImageError } from './errors.js';
import { classifyDecodeError, probe, WorkingImage, type DecodeHint, type InputFormat } from './image.js';
import { defaultDecodePolicy, resolveLimits, type DecodePolicy, type Limits } from './limits.js';
import { findOperation, type Operation, type OperationContext } from './operations/index.js';
import { outputOptionsOf, type OutputOptions } from './imaginary-params.js';
import type { StepOptions } from './options.js';
import { outputTypes, type OutputType, type Source } from './params.js';
import { checkPresets as checkPresetsWith, expandPresets, noPresets, type Presets } from './presets.js';
import { fetchRemoteImages, type FetchImage } from './remote-images.js';
import type { RunResult } from './run-result.js';

export interface Step {
  operation: string;
  params?: Readonly<Record<string, unknown>>;
  /** On failure, go on with the image as it was before this step (imaginary emptied it instead: a bug). */
  ignoreFailure?: boolean;
}

export interface RunOptions {
  limits?: Partial<Limits>;
  /** Where params come from: query strings follow imaginary's string coercions, JSON its number rules. */
  source?: Source;
  /** Chooses the format for type=auto, e.g. from an Accept header; defaults to the input's own format. */
  negotiate?: ((fallback: OutputType) => OutputType) | undefined;
  decode?: Partial<DecodePolicy> | undefined;
  /** Aborting stops the work, a child process's included, and rejects with PP_CLIENT_GONE. */
  signal?: AbortSignal | undefined;
  /** Named pipelines a step {"operation": "preset", "params": {"name": …}} stands for (see presets.ts). */
  presets?: Presets | undefined;
  /** Fetches the images steps name by URL (watermarkImage); without it such a step is refused. Never given by core. */
  fetchImage?: FetchImage | undefined;
}

export interface ExecuteOptions {
  limits: Limits;
  negotiate?: RunOptions['negotiate'];
  decode?: DecodePolicy | undefined;
  /** Aborting stops the work, a child process's included, and rejects with PP_CLIENT_GONE. */
  signal?: AbortSignal | undefined;
  /** The images steps name by URL, already fetched (remote-images.ts). */
  remote?: ReadonlyMap<string, Buffer> | undefined;
}

export type { RunResult } from './run-result.js';

export interface PreparedStep {
  operation: Operation;
  /** The operation's own parameters, parsed: it never sees another's (a `text` sent to /resize draws nothing). */
  options: StepOptions;
  ignoreFailure: boolean;
  /** Parameters given to this step that it does not use, known or not: checked (as imaginary does), never applied. */
  ignored: readonly string[];
  /** "Step 2 (fit)" in a pipeline, which every error of this step starts with; absent for a single operation. */
  label?: string | undefined;
}

/** Every parameter some step ignored, once each, in the order given: the HTTP layer's PP-Ignored-Params header. */
export function ignoredParams(prepared: readonly PreparedStep[]): string[] {
  return [...new Set(prepared.flatMap((step) => step.ignored))];
}

/**
 * Validate every step (names, params, required params) before any pixel is decoded. Preset steps are first replaced by
 * their presets' steps, so the step limit and the error labels ("Step 2 (preset avatar: fit)") count the real work.
 * Steps are named in errors when there are several, unless `nameSteps` says otherwise.
 */
export function prepare(steps: readonly Step[], limits: Limits, source: Source = 'json', nameSteps?: boolean, presets: Presets = noPresets): PreparedStep[] {
  if (steps.length === 0) throw new ImageError('PP_INVALID_PIPELINE', 'Missing or invalid pipeline operations JSON');
  const expanded = expandPresets(steps, presets);
  if (expanded.length > limits.maxPipelineSteps) {
    const counted = expanded.length === steps.length ? '' : ' (counting the steps of its presets)';
    throw new ImageError('PP_INVALID_PIPELINE', `Maximum allowed pipeline operations exceeded: ${expanded.length} > ${limits.maxPipelineSteps}${counted}`);
  }
  const named = nameSteps ?? expanded.length > 1;
  return expanded.map(({ step, preset }, index) => {
    const operation = findOperation(step.operation);
    if (!operation) throw new ImageError('PP_INVALID_PIPELINE', `Unsupported operation name: ${step.operation}`);
    const label = named ? `Step ${index + 1} (${preset ? `preset ${preset}: ` : ''}${operation.name})` : undefined;
    try {
      return { ...prepareStep(step, operation, source), label };
    } catch (err) {
      throw inStep(label, err);
    }
  });
}

/** Throws an Error naming the preset and its fault, for a configuration to refuse at start-up. */
export function checkPresets(presets: Presets, limits: Limits): void {
  checkPresetsWith(presets, limits, (steps, stepLimits) => prepare(steps, stepLimits, 'json', true));
}

/**
 * A pipeline's errors say which step failed, whether its parameters or its pixels: "Step 2 (fit): Missing required
 * params: height, width". The deadline and a departed client belong to the request, not to a step.
 */
function inStep(label: string | undefined, err: unknown): unknown {
  if (!label || !(err instanceof ImageError) || stopsRequest(err)) return err;
  return new ImageError(err.code, `${label}: ${err.detail}`, { cause: err });
}

function prepareStep(step: Step, operation: Operation, source: Source): PreparedStep {
  const { options, ignored } = operation.parse(step.params ?? {}, source);
  return { operation, options, ignoreFailure: step.ignoreFailure ?? false, ignored };
}

export async function run(input: Buffer, steps: readonly Step[], runOptions: RunOptions = {}): Promise<RunResult> {
  const limits = resolveLimits(runOptions.limits);
  const decode = { ...defaultDecodePolicy, ...runOptions.decode };
  const prepared = prepare(steps, limits, runOptions.source, undefined, runOptions.presets);
  const remote = await fetchRemoteImages(prepared, runOptions.fetchImage, runOptions.signal);
  const result = await execute(input, prepared, { limits, negotiate: runOptions.negotiate, decode, signal: runOptions.signal, remote });
  return { ...result, ignored: ignoredParams(prepared) };
}

/**
 * Run steps already checked by prepare(): the HTTP layer validates before it reads the upload.
 * One deadline (limits.processTimeoutSeconds) covers every step and the encoding, and rejects with PP_TIMEOUT.
 * Work libvips cannot interrupt (see needsIsolation) runs in a child process that is killed at the deadline or abort.
 */
export async function execute(input: Buffer, prepared: readonly PreparedStep[], options: ExecuteOptions): Promise<RunResult> {
  const { limits } = options;
  const deadline = new Deadline(limits.processTimeoutSeconds, options.signal);
  deadline.check();
  const image = await WorkingImage.fromEncoded(input, limits, options.decode, decodeHint(prepared, deadline));
  deadline.check();
  if (!needsIsolation(image.format, prepared, options.negotiate)) return executeHere(image, prepared, options, deadline);
  const job: IsolatedJob = {
    input,
    steps: prepared.map((step) => ({ operation: step.operation.name, options: step.options, ignoreFailure: step.ignoreFailure, label: step.label })),
    limits,
    decode: options.decode,
    // A function cannot cross to the child: its answer for each of the few possible fallbacks can.
    negotiated: options.negotiate && (Object.fromEntries(outputTypes.map((type) => [type, options.negotiate!(type)])) as Record<OutputType, OutputType>),
    remote: options.remote,
  };
  return runIsolated(job, deadline);
}

/** The isolated child's side of execute(): the same steps, in its own process, under the time the parent had left. */
export async function executeJob(job: IsolatedJob, remainingMs: number): Promise<RunResult> {
  const deadline = new Deadline(job.limits.processTimeoutSeconds, undefined, remainingMs);
  const prepared = job.steps.map((step) => {
    const operation = findOperation(step.operation);
    if (!operation) throw new ImageError('PP_INVALID_PIPELINE', `Unsupported operation name: ${step.operation}`);
    return { operation, options: step.options, ignoreFailure: step.ignoreFailure, ignored: [], label: step.label };
  });
  const negotiated = job.negotiated;
  const options: ExecuteOptions = { limits: job.limits, decode: job.decode, remote: job.remote, ...(negotiated ? { negotiate: (fallback: OutputType) => negotiated[fallback] } : {}) };
  return executeHere(await WorkingImage.fromEncoded(job.input, job.limits, job.decode, decodeHint(prepared, deadline)), prepared, options, deadline);
}

/**
 * What our own decoders (PDF, HEIF) may decode at: the box of the first step that sizes the image, past steps that leave
 * the size to the next (Nextcloud sends convert, then fit); and the request's one deadline.
 */
function decodeHint(prepared: readonly PreparedStep[], deadline: Deadline): DecodeHint {
  for (const step of prepared) {
    const box = step.operation.decodeBox(step.options);
    if (box === 'unchanged') continue;
    if (!box) break;
    return { deadline, targetFit: box.fit, ...(box.width > 0 ? { targetWidth: box.width } : {}), ...(box.height > 0 ? { targetHeight: box.height } : {}) };
  }
  return { deadline };
}

/**
 * Whether the request does work that libvips' timeout cannot stop (measured on 16 MP: up to 35 s past a 1 s timeout):
 * an SVG render (librsvg draws a filter whole, per tile), a text render (Pango, before libvips runs anything), or an
 * encoder that compresses the whole image at the end (see encodesAtOnce). Types resolve as in executeHere, and every
 * type a step could write counts, for ignore_failure may fall back to it.
 */
function needsIsolation(format: InputFormat, prepared: readonly PreparedStep[], negotiate: ExecuteOptions['negotiate']): boolean {
  if (format === 'svg') return true;
  const settings = outputOptionsOf(prepared[prepared.length - 1]!.options);
  let type: OutputType = defaultOutputFor(format);
  for (const step of prepared) {
    if (step.operation.isolate(step.options)) return true;
    type = resolveType(step, type, negotiate);
    if (encodesAtOnce(type, settings)) return true;
  }
  return false;
}

/** Whether a step asks for AVIF, by type=avif or by a type=auto that Accept turns into AVIF (an AVIF upload with no type aside). */
export function asksForAvif(prepared: readonly PreparedStep[], negotiate: ExecuteOptions['negotiate']): boolean {
  return prepared.some((step) => {
    const { type } = outputOptionsOf(step.options);
    return !step.operation.outputType && (type === 'avif' || (type === 'auto' && negotiate?.('jpeg') === 'avif'));
  });
}

/** The format a step writes: its operation's own, else its type (auto asks `negotiate`), else the format so far. */
function resolveType(step: PreparedStep, current: OutputType, negotiate: ExecuteOptions['negotiate']): OutputType {
  if (step.operation.outputType) return step.operation.outputType;
  const { type } = outputOptionsOf(step.options);
  if (type === 'auto') return negotiate ? negotiate(current) : current;
  return type || current;
}

async function executeHere(first: WorkingImage, prepared: readonly PreparedStep[], options: ExecuteOptions, deadline: Deadline): Promise<RunResult> {
  const { limits, negotiate } = options;
  // An animation is read whole only when it can be written as one; otherwise its first frame is all that is decoded.
  let image = keepsFrames(first.format, prepared, negotiate) ? await first.withFrames(deadline) : first;
  let format: OutputType = defaultOutputFor(image.format);
  const negotiated = prepared.some((step) => !step.operation.outputType && outputOptionsOf(step.options).type === 'auto');

  let previousFormat = format;
  let pending: Sharp | WorkingImage = image;
  for (const [index, step] of prepared.entries()) {
    const last = index === prepared.length - 1;
    deadline.check();
    try {
      previousFormat = format;
      format = resolveType(step, format, negotiate);
      const result = await applyStep(image, step, { limits, last, deadline, remote: options.remote });
      if (last) pending = result;
      else image = result instanceof WorkingImage ? result : await materialise(deadline.bound(result), image);
    } catch (err) {
      const error = classifyDecodeError(err);
      if (!step.ignoreFailure || stopsRequest(error)) throw inStep(step.label, error);
      format = previousFormat;
      pending = image;
    }
  }

  const lastStep = prepared[prepared.length - 1]!;
  const settings: OutputOptions = outputOptionsOf(lastStep.options);
  const bound = (next: Sharp) => deadline.bound(next);
  const finish = async (written: Sharp | WorkingImage, type: OutputType): Promise<RunResult> => {
    // JPEG, PNG, AVIF and TIFF cannot animate (sharp would write the roll as one tall image): the first frame it is.
    const result = written instanceof WorkingImage && written.animation && !canAnimate(type) ? written.frames()[0]! : written;
    const animation = result instanceof WorkingImage ? result.animation : undefined;
    let pipeline = bound(result instanceof WorkingImage ? result.open(true) : result);
    // The image the output's pixels come from: the last step's own result, or the image it built its pipeline on.
    const source = result instanceof WorkingImage ? result : image;
    const keepsProfile = !settings.noprofile && !settings.stripmeta;
    let keepProfile = keepsProfile && source.isEncoded && source.profile !== undefined;
    // Raw pixels left in a colour profile sharp cannot see (the HEIC decoder's, the seed's kernel): a JPEG is tagged
    // with it after encoding, no conversion; any other output gets it back first, and is converted or keeps it.
    const hiddenProfile = source.isEncoded ? undefined : source.profile;
    const tagJpeg = hiddenProfile !== undefined && keepsProfile && type === 'jpeg';
    if (hiddenProfile && !tagJpeg) {
      pipeline = await withKnownProfile(pipeline, hiddenProfile, bound);
      keepProfile = keepsProfile;
    }
    pipeline = await keepSamples(pipeline, type, source.traits, bound, () => deadline.check());
    // norotation leaves the pixels as stored: the Orientation tag goes with them, so viewers still show them upright.
    const { norotation, rotate } = lastStep.options as { norotation?: boolean; rotate?: number };
    const orientation = result instanceof WorkingImage || !norotation || rightAngle(rotate ?? 0) !== 0 ? 1 : source.traits.storedOrientation;
    const encoded = await encode(pipeline, type, settings, keepProfile, orientation, animation);
    if (tagJpeg && encoded.type === 'jpeg') encoded.data = embedIccInJpeg(encoded.data, hiddenProfile);
    return { ...encoded, mime: mimeTypes[encoded.type], negotiated };
  };
  try {
    return await finish(pending, format);
  } catch (err) {
    // sharp runs lazily, so the last step's own failures surface here, while encoding.
    const error = classifyDecodeError(err);
    // The encoder's own failures too: the last step chose what it writes.
    if (!lastStep.ignoreFailure || pending === image || stopsRequest(error)) throw inStep(lastStep.label, error);
    return finish(image, previousFormat).catch((retryError: unknown) => {
      throw inStep(lastStep.label, classifyDecodeError(retryError));
    });
  }
}

/**
 * One step: on the image, or on each frame of an animation alone (so nothing bleeds across frames, see animation.ts),
 * or on the first frame for an operation that takes only that (the seed's Pillow blur).
 */
async function applyStep(image: WorkingImage, step: PreparedStep, context: OperationContext): Promise<Sharp | WorkingImage> {
  if (!image.animation) return step.operation.apply(image, step.options, context);
  if (step.operation.frames === 'first') return step.operation.apply(image.frames()[0]!, step.options, context);
  const each = async (frame: WorkingImage, frames: OperationContext['frames']) => {
    // Never `last`: a frame is not written alone, so it is left in sRGB like any intermediate.
    const result = await step.operation.apply(frame, step.options, { ...context, last: false, frames });
    return result instanceof WorkingImage ? result.open(true) : result;
  };
  return applyToFrames(image, each, context.limits, context.deadline);
}

/**
 * Whether an animated upload must be read frame by frame: some type the request may be written as is GIF or WebP.
 * Types resolve as in executeHere; with ignore_failure, any type an earlier step chose may be the one written.
 */
function keepsFrames(format: InputFormat, prepared: readonly PreparedStep[], negotiate: ExecuteOptions['negotiate']): boolean {
  let type: OutputType = defaultOutputFor(format);
  const types = [type];
  for (const step of prepared) {
    type = resolveType(step, type, negotiate);
    types.push(type);
  }
  return (prepared.some((step) => step.ignoreFailure) ? types : [type]).some(canAnimate);
}

/** The deadline and a departed client end the request; ignore_failure only skips a step's own failures. */
function stopsRequest(error: ImageError): boolean {
  return error.code === 'PP_TIMEOUT' || error.code === 'PP_CLIENT_GONE';
}

/** Decode a step's result to raw pixels for the next step: sharp's default sRGB output keeps colours right. */
async function materialise(pipeline: Sharp, from: WorkingImage): Promise<WorkingImage> {
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  // sharp converts an upload with a profile to sRGB; raw pixels it was given without one stay in that profile.
  return from.withRaw(data, info, from.isEncoded ? undefined : from.profile);
}

/** The JSON imaginary's /info returns. */
export interface ImageInfo {
  width: number;
  height: number;
  type: string;
  space: string;
  hasAlpha: boolean;
  hasProfile: boolean;
  channels: number;
  orientation: number;
}

export async function info(input: Buffer, limitOverrides?: Partial<Limits>, decode?: Partial<DecodePolicy>): Promise<ImageInfo> {
  const limits = resolveLimits(limitOverrides);
  const { meta, format } = await probe(input, limits, { ...defaultDecodePolicy, ...decode });
  return {
    width: meta.width,
    height: meta.height,
    type: format,
    space: meta.space,
    hasAlpha: Boolean(meta.hasAlpha),
    hasProfile: Boolean(meta.hasProfile),
    channels: meta.channels,
    orientation: exifOrientation(meta.exif),
  };
}
