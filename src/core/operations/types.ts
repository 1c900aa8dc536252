/**
 * An operation's whole contract in one declaration: its name and route, its own parameters (checker, default,
 * description), which are required, and `apply`. The route, its 405, the OpenAPI path, the CLI command and help, the
 * pipeline name and the library's registry are all derived from it; so is the type of the options `apply` receives.
 */
import type { Sharp } from 'sharp';
import type { FrameContext } from '../animation.js';
import type { Deadline } from '../encoders/deadline.js';
import { ImageError } from '../errors.js';
import { checkKnownParams } from '../imaginary-params.js';
import type { WorkingImage } from '../image.js';
import type { Limits } from '../limits.js';
import { isGiven, parseParams, type OptionsOf, type ParamSpecs, type StepOptions } from '../options.js';
import type { OutputType, Source } from '../params.js';

export interface OperationContext {
  readonly limits: Limits;
  /** The last step writes the output, so it may leave pixels in the input's colour space and tag them. */
  readonly last: boolean;
  /** The request's one deadline: bound every sharp pipeline an operation runs itself with it. */
  readonly deadline: Deadline;
  /** Set when the step runs on one frame of an animation (see animation.ts): the frame's place and the first frame. */
  readonly frames?: FrameContext | undefined;
  /**
   * The images this request's steps named by URL (see `remoteImages`), fetched before processing by whoever runs the
   * pipeline: core itself never opens a connection. Absent when nothing was fetched.
   */
  readonly remote?: ReadonlyMap<string, Buffer> | undefined;
}

/**
 * What a step does to an animated GIF or WebP that is written as one: runs on each frame alone (the default, and what
 * every operation here does), or takes the first frame and leaves a still image, as Pillow's seed route does.
 */
export type FramePolicy = 'each' | 'first';

type Result = Promise<Sharp | WorkingImage>;

export type Origin = 'imaginary' | 'pillow' | 'pixelpress';

/** The box a step's output fits inside or covers: what a PDF page is rendered at, or a HEIF thumbnail must reach. */
export interface DecodeBox {
  readonly width: number;
  readonly height: number;
  readonly fit: 'inside' | 'cover';
}

/** What an operation file writes. `S` is inferred from `params`, and every option type follows from it. */
export interface OperationSpec<S extends ParamSpecs> {
  /** One lowercase word: the pipeline name, the CLI command, and the route unless `path` says otherwise. */
  readonly name: string;
  /** Whose contract it keeps: imaginary's endpoint, the FastAPI/Pillow seed, or one of pixelpress's own. */
  readonly origin: Origin;
  /** The route; `/<name>` by default. */
  readonly path?: `/${string}`;
  /** The multipart field the docs name for the upload (every route also takes `file`, `img`, `image` or a raw body). */
  readonly field?: string;
  readonly summary: string;
  readonly description: string;
  /** The parameters this operation reads, in the order the docs list them; anything else given is ignored and named. */
  readonly params: S;
  /** Parameters that must all be given (the docs mark them required). */
  readonly required?: readonly (keyof S & string)[];
  /** Parameters of which at least one must be given, e.g. width or height for resize. */
  readonly oneOf?: readonly (keyof S & string)[];
  /** imaginary's own wording of the missing-parameter error, where it is not the usual one. */
  readonly missing?: string;
  /** A fixed output format that `type` cannot change (the seed route always answers JPEG). */
  readonly outputType?: OutputType;
  /**
   * Parameters it does not declare are ignored and named either way; 'check' (the default) first checks those that
   * are imaginary's, as imaginary does on every route. The seed route ignores its query unchecked, as FastAPI does.
   */
  readonly foreign?: 'check' | 'ignore';
  /** Checks beyond required and oneOf, before any pixel is decoded; throw an ImageError. */
  check?(options: OptionsOf<S>): void;
  /**
   * What this step makes of the size, so formats decoded by our own decoders (PDF, HEIF) can be decoded straight at
   * it: its box, or 'unchanged' when the next step decides (convert, autorotate). Absent: decode at full size.
   */
  decodeBox?(options: OptionsOf<S>): DecodeBox | 'unchanged';
  /** Whether this step does work libvips cannot interrupt (a text render), so the request runs where it can be killed. */
  isolate?(options: OptionsOf<S>): boolean;
  /** Animated input: 'each' frame (the default) or the 'first' frame only. */
  readonly frames?: FramePolicy;
  /** URLs of images this step needs, fetched before processing and handed to `apply` in `context.remote`. */
  remoteImages?(options: OptionsOf<S>): readonly string[];
  /** Returns a sharp pipeline still to run, or an image for the next step when no pixels need touching. */
  apply(image: WorkingImage, options: OptionsOf<S>, context: OperationContext): Result;
}

/** An operation as the registry and everything built on it see it, whatever its parameters. */
export interface Operation {
  readonly name: string;
  readonly origin: Origin;
  readonly path: `/${string}`;
  readonly field: string;
  readonly summary: string;
  readonly description: string;
  readonly params: ParamSpecs;
  readonly required: readonly string[];
  readonly oneOf: readonly string[];
  readonly outputType: OutputType | undefined;
  readonly frames: FramePolicy;
  /** Whether the step names images by URL (remoteImages), which are fetched before it runs. */
  readonly fetches: boolean;
  /** Parse and check a step's raw parameters: its options, and the names given that it ignores. */
  parse(raw: Readonly<Record<string, unknown>>, source: Source): { options: StepOptions; ignored: string[] };
  isolate(options: StepOptions): boolean;
  remoteImages(options: StepOptions): readonly string[];
  decodeBox(options: StepOptions): DecodeBox | 'unchanged' | undefined;
  apply(image: WorkingImage, options: StepOptions, context: OperationContext): Result;
}

const brand = Symbol('pixelpress.operation');

export function isOperation(value: unknown): value is Operation {
  return typeof value === 'object' && value !== null && brand in value;
}

function missingError(wording: string | undefined, names: readonly string[], joiner: string): ImageError {
  return new ImageError('PP_MISSING_PARAM', wording ?? `Missing required param${names.length > 1 && joiner === ', ' ? 's' : ''}: ${names.join(joiner)}`);
}

export function defineOperation<S extends ParamSpecs>(spec: OperationSpec<S>): Operation {
  const required = spec.required ?? [];
  const oneOf = spec.oneOf ?? [];
  // Options reaching isolate() and apply() were made by parse() below from these very specs.
  const own = (options: StepOptions) => options as OptionsOf<S>;
  return Object.freeze({
    [brand]: true,
    name: spec.name,
    origin: spec.origin,
    path: spec.path ?? `/${spec.name}`,
    field: spec.field ?? 'file',
    summary: spec.summary,
    description: spec.description,
    params: spec.params,
    required,
    oneOf,
    outputType: spec.outputType,
    frames: spec.frames ?? 'each',
    fetches: spec.remoteImages !== undefined,
    parse(raw: Readonly<Record<string, unknown>>, source: Source) {
      const options = parseParams(spec.params, raw, source);
      // imaginary checks every one of its parameters on every route: a bad value fails even where it is ignored.
      const ignored = spec.foreign === 'ignore' ? Object.keys(raw).filter((name) => !Object.hasOwn(spec.params, name)) : checkKnownParams(raw, spec.params, source);
      const given = (name: string) => isGiven(spec.params, options, name);
      if (!required.every(given)) throw missingError(spec.missing, required, ', ');
      if (oneOf.length > 0 && !oneOf.some(given)) throw missingError(spec.missing, oneOf, ' or ');
      spec.check?.(options);
      return { options, ignored };
    },
    isolate: (options: StepOptions) => spec.isolate?.(own(options)) ?? false,
    remoteImages: (options: StepOptions) => spec.remoteImages?.(own(options)) ?? [],
    decodeBox: (options: StepOptions) => spec.decodeBox?.(own(options)),
    apply: (image: WorkingImage, options: StepOptions, context: OperationContext) => spec.apply(image, own(options), context),
  });
}
