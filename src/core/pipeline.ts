/**
 * run(input, steps, limits): the one way images are processed, for HTTP, CLI and library alike.
 * Steps run in the order given. Between steps the image is handed on as raw pixels, never re-encoded, so a
 * pipeline loses no quality to intermediate JPEGs and the last step writes the only encoding.
 */
import type { Sharp } from 'sharp';
import { defaultOutputFor, encode, mimeTypes } from './encode.js';
import { embedIccInJpeg } from './icc.js';
import { ImageError } from './errors.js';
import { classifyDecodeError, probe, WorkingImage } from './image.js';
import { defaultDecodePolicy, resolveLimits, type DecodePolicy, type Limits } from './limits.js';
import { findOperation, type Operation } from './operations/index.js';
import { parseOptions, type ImageOptions } from './options.js';
import type { OutputType, Source } from './params.js';

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
}

export interface ExecuteOptions {
  limits: Limits;
  negotiate?: RunOptions['negotiate'];
  decode?: DecodePolicy | undefined;
}

export interface RunResult {
  data: Buffer;
  type: OutputType;
  mime: string;
  width: number;
  height: number;
  /** True when type=auto chose the format, so the answer depends on Accept. */
  negotiated: boolean;
}

export interface PreparedStep {
  operation: Operation;
  options: ImageOptions;
  ignoreFailure: boolean;
}

/** Validate every step (names, params, required params) before any pixel is decoded. */
export function prepare(steps: readonly Step[], limits: Limits, source: Source = 'json'): PreparedStep[] {
  if (steps.length === 0) throw new ImageError('PP_INVALID_PIPELINE', 'Missing or invalid pipeline operations JSON');
  if (steps.length > limits.maxPipelineSteps) {
    throw new ImageError('PP_INVALID_PIPELINE', `Maximum allowed pipeline operations exceeded: ${steps.length} > ${limits.maxPipelineSteps}`);
  }
  return steps.map((step) => {
    const operation = findOperation(step.operation);
    if (!operation) throw new ImageError('PP_INVALID_PIPELINE', `Unsupported operation name: ${step.operation}`);
    const options = parseOptions(step.params ?? {}, source);
    operation.validate(options);
    return { operation, options, ignoreFailure: step.ignoreFailure ?? false };
  });
}

export async function run(input: Buffer, steps: readonly Step[], runOptions: RunOptions = {}): Promise<RunResult> {
  const limits = resolveLimits(runOptions.limits);
  const decode = { ...defaultDecodePolicy, ...runOptions.decode };
  return execute(input, prepare(steps, limits, runOptions.source), { limits, negotiate: runOptions.negotiate, decode });
}

/** Run steps already checked by prepare(): the HTTP layer validates before it reads the upload. */
export async function execute(input: Buffer, prepared: readonly PreparedStep[], options: ExecuteOptions): Promise<RunResult> {
  const { limits, negotiate } = options;
  let image = await WorkingImage.fromEncoded(input, limits, options.decode);
  let format: OutputType = defaultOutputFor(image.format);
  let negotiated = false;
  const resolveType = (step: PreparedStep): OutputType => {
    if (step.operation.outputType) return step.operation.outputType;
    if (step.options.type === 'auto') {
      negotiated = true;
      return negotiate ? negotiate(format) : format;
    }
    return step.options.type || format;
  };

  let previousFormat = format;
  let pending: Sharp | WorkingImage = image;
  for (const [index, step] of prepared.entries()) {
    const last = index === prepared.length - 1;
    try {
      previousFormat = format;
      format = resolveType(step);
      const result = await step.operation.apply(image, step.options, { limits, last });
      if (last) pending = result;
      else image = result instanceof WorkingImage ? result : await materialise(result, image);
    } catch (err) {
      const error = classifyDecodeError(err);
      if (!step.ignoreFailure || error.code === 'PP_TIMEOUT') throw error;
      format = previousFormat;
      pending = image;
    }
  }

  const settings = prepared[prepared.length - 1]!;
  const finish = async (result: Sharp | WorkingImage, type: OutputType): Promise<RunResult> => {
    const pipeline = result instanceof WorkingImage ? result.open(true) : result;
    const keepsProfile = !settings.options.noprofile && !settings.options.stripmeta;
    const encoded = await encode(pipeline, type, settings.options, keepsProfile && image.isEncoded && image.profile !== undefined);
    // Raw pixels left in the upload's colour space carry its profile: tag the JPEG with it, no conversion.
    const rawProfile = result instanceof WorkingImage && !result.isEncoded ? result.profile : undefined;
    if (rawProfile && keepsProfile && encoded.type === 'jpeg') encoded.data = embedIccInJpeg(encoded.data, rawProfile);
    return { ...encoded, mime: mimeTypes[encoded.type], negotiated };
  };
  try {
    return await finish(pending, format);
  } catch (err) {
    // sharp runs lazily, so the last step's own failures surface here, while encoding.
    const error = classifyDecodeError(err);
    if (!settings.ignoreFailure || pending === image || error.code === 'PP_TIMEOUT') throw error;
    return finish(image, previousFormat).catch((retryError: unknown) => {
      throw classifyDecodeError(retryError);
    });
  }
}

/** Decode a step's result to raw pixels for the next step: sharp's default sRGB output keeps colours right. */
async function materialise(pipeline: Sharp, from: WorkingImage): Promise<WorkingImage> {
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return from.withRaw(data, info);
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

export async function describe(input: Buffer, limitOverrides?: Partial<Limits>, decode?: Partial<DecodePolicy>): Promise<ImageInfo> {
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
    orientation: meta.orientation ?? 0,
  };
}
