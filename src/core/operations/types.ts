/** The shape every operation has: data for the docs, CLI and routes, plus one `apply`. */
import type { Sharp } from 'sharp';
import type { Deadline } from '../encoders/deadline.js';
import type { WorkingImage } from '../image.js';
import type { Limits } from '../limits.js';
import type { ImageOptions, ParamName } from '../options.js';
import type { OutputType } from '../params.js';

export interface OperationContext {
  readonly limits: Limits;
  /** The last step writes the output, so it may leave pixels in the input's colour space and tag them. */
  readonly last: boolean;
  /** The request's one deadline: bound every sharp pipeline an operation runs itself with it. */
  readonly deadline: Deadline;
}

export interface Operation {
  /** One lowercase word: the route (`/resize`), the pipeline name and the CLI command. */
  readonly name: string;
  readonly summary: string;
  readonly description: string;
  /** Parameters this operation reads, in the order the docs list them. */
  readonly params: readonly ParamName[];
  /** Parameters that must all be given (validate() enforces them; the docs mark them required). */
  readonly required: readonly ParamName[];
  /** Parameters of which at least one must be given, e.g. width or height for resize. */
  readonly oneOf?: readonly ParamName[];
  /** A fixed output format that `type` cannot change (the seed route always answers JPEG). */
  readonly outputType?: OutputType;
  /** Throws PP_MISSING_PARAM before any pixel work. */
  validate(options: ImageOptions): void;
  /** Returns a sharp pipeline still to run, or an image for the next step when no pixels need touching. */
  apply(image: WorkingImage, options: ImageOptions, context: OperationContext): Promise<Sharp | WorkingImage>;
}

/**
 * Parameters every imaginary endpoint but /info and /autorotate honours besides its own: they all pass through
 * bimg's options (`/flip?width=100` also resizes, `sigma` blurs anywhere). Anything else is ignored and named.
 */
export const commonParams: readonly ParamName[] = [
  'width', 'height', 'gravity', 'type', 'quality', 'compression', 'interlace', 'palette', 'speed', 'stripmeta', 'noprofile', 'norotation',
  'rotate', 'flip', 'flop', 'force', 'embed', 'extend', 'background', 'colorspace', 'sigma', 'minampl', 'aspectratio',
];

export function defineOperation(operation: Operation): Operation {
  // An operation's own parameters come first; the common ones it also lists are kept once.
  return Object.freeze({ ...operation, params: [...new Set(operation.params)] });
}
