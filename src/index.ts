/** The library API: the same registry and pipeline the HTTP service and CLI use. */
export { run, execute, prepare, info } from './core/pipeline.js';
export type { Step, RunOptions, RunResult, ImageInfo, PreparedStep } from './core/pipeline.js';
export type { FetchImage } from './core/remote-images.js';
export { parseOperations } from './core/pipeline-json.js';
export { parsePresets } from './core/presets.js';
export type { Presets } from './core/presets.js';
export { operations, findOperation } from './core/operations/index.js';
export type { Operation, OperationSpec, OperationContext } from './core/operations/index.js';
export type { OptionsOf, ParamSpec, ParamSpecs, StepOptions } from './core/options.js';
export { imaginaryParams, commonParams, outputParams } from './core/imaginary-params.js';
export { ImageError, errorCatalogue, isImageError } from './core/errors.js';
export type { ErrorCode } from './core/errors.js';
export { defaultLimits, resolveLimits } from './core/limits.js';
export type { Limits } from './core/limits.js';
export { ringBlur, ringBlurAsync, ringBlurKernel } from './core/ring-blur/index.js';
export { buildApp } from './http/app.js';
export type { AppOptions } from './http/app.js';
