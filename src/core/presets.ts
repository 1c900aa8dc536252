/**
 * Presets: named pipelines from the server's configuration, served at POST /preset/{name} and usable as a pipeline
 * step, {"operation": "preset", "params": {"name": "avatar"}}.
 *
 * Design: a preset is configuration, not an operation. It is plain data (name -> steps) handed to buildApp and from
 * there to prepare() (or to run()), which expands preset steps into the preset's own steps before checking anything:
 * the step limit, the labels in errors and the isolation rules then see the real work, and the registry, the core's
 * purity and the isolated child (which receives expanded steps) are untouched. Every preset is checked once, when the
 * server or app starts, with the same prepare() a request uses, so a bad preset stops the service instead of failing
 * requests.
 */
import { ImageError } from './errors.js';
import type { Limits } from './limits.js';
import { parseOperations } from './pipeline-json.js';
import type { Step } from './pipeline.js';

/** name -> its steps, in imaginary's pipeline form. */
export type Presets = Readonly<Record<string, readonly Step[]>>;

export const noPresets: Presets = Object.freeze({});

/** The operation name of a preset step in a pipeline. */
export const presetOperation = 'preset';

/** A name that fits a URL path segment as it is, and a log line. */
const presetName = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Presets from JSON text, `{"avatar": [{"operation": "fit", "params": {...}}, ...], ...}`. `origin` names where the text
 * came from in the errors (PP_PRESETS, or the file of PP_PRESETS_FILE). Throws an Error with a message for a person.
 */
export function parsePresets(json: string, origin: string): Presets {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new Error(`${origin} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${origin} must be a JSON object of preset names to pipelines, e.g. {"avatar":[{"operation":"fit","params":{"width":128,"height":128}}]}`);
  }
  const presets: Record<string, readonly Step[]> = {};
  for (const [name, steps] of Object.entries(value)) {
    if (!presetName.test(name)) throw new Error(`${origin}: preset name ${JSON.stringify(name)} must be 1-64 letters, digits, "_", "-" or ".", starting with a letter or digit`);
    if (Array.isArray(steps) && steps.length === 0) throw new Error(`${origin}: preset "${name}" has no steps`);
    try {
      presets[name] = Object.freeze(parseOperations(JSON.stringify(steps)));
    } catch (err) {
      throw new Error(`${origin}: preset "${name}": ${err instanceof ImageError ? err.detail : (err as Error).message}`);
    }
  }
  return Object.freeze(presets);
}

/** Both sources together; a name defined twice is refused rather than one silently winning. */
export function mergePresets(...sources: readonly Presets[]): Presets {
  const merged: Record<string, readonly Step[]> = {};
  for (const source of sources) {
    for (const [name, steps] of Object.entries(source)) {
      if (Object.hasOwn(merged, name)) throw new Error(`Preset "${name}" is defined twice (in PP_PRESETS and in PP_PRESETS_FILE)`);
      merged[name] = steps;
    }
  }
  return Object.freeze(merged);
}

export function findPreset(presets: Presets, name: string): readonly Step[] | undefined {
  return Object.hasOwn(presets, name) ? presets[name] : undefined;
}

/** A step of an expanded pipeline, and the preset it came from, for the errors' labels. */
export interface ExpandedStep {
  step: Step;
  preset?: string | undefined;
}

/**
 * Replace each preset step with the preset's steps. A preset step takes only `name`; its ignore_failure applies to each
 * of the preset's steps (a failing step is skipped, the rest of the preset still runs).
 */
export function expandPresets(steps: readonly Step[], presets: Presets): ExpandedStep[] {
  return steps.flatMap((step, index): ExpandedStep[] => {
    if (step.operation !== presetOperation) return [{ step }];
    const params = step.params ?? {};
    const name = params.name;
    const others = Object.keys(params).filter((key) => key !== 'name');
    if (typeof name !== 'string' || name === '') throw new ImageError('PP_INVALID_PIPELINE', `Step ${index + 1} (preset): params.name must name a preset`);
    if (others.length > 0) throw new ImageError('PP_INVALID_PIPELINE', `Step ${index + 1} (preset): a preset step takes only name, not ${others.join(', ')}`);
    const found = findPreset(presets, name);
    if (!found) {
      const known = Object.keys(presets);
      throw new ImageError('PP_INVALID_PIPELINE', `Step ${index + 1} (preset): unknown preset ${JSON.stringify(name)}; ${known.length > 0 ? `configured: ${known.join(', ')}` : 'none are configured (PP_PRESETS)'}`);
    }
    return found.map((inner) => ({ step: step.ignoreFailure ? { ...inner, ignoreFailure: true } : inner, preset: name }));
  });
}

/**
 * Check every preset as a request would be checked, with `prepare` (passed in, as the pipeline imports this module).
 * A preset may not contain a preset, and may not carry parameters its steps would ignore: at start-up a typo such as
 * "widht" is a mistake to report, not a parameter to skip.
 */
export function checkPresets(
  presets: Presets,
  limits: Limits,
  prepare: (steps: readonly Step[], limits: Limits) => readonly { ignored: readonly string[]; label?: string | undefined; operation: { name: string } }[],
): void {
  for (const [name, steps] of Object.entries(presets)) {
    const fail = (detail: string): never => {
      throw new Error(`Invalid preset "${name}": ${detail}`);
    };
    if (steps.some((step) => step.operation === presetOperation)) fail('a preset cannot contain a preset step');
    let prepared;
    try {
      prepared = prepare(steps, limits);
    } catch (err) {
      fail(err instanceof ImageError ? err.detail : (err as Error).message);
    }
    for (const [index, step] of prepared!.entries()) {
      if (step.ignored.length > 0) fail(`Step ${index + 1} (${step.operation.name}) does not use ${step.ignored.join(', ')}`);
    }
  }
}
