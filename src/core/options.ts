/**
 * How an operation declares its parameters, and the one parser for them. An operation's options type is derived
 * from its declaration (OptionsOf), so a parameter exists in one place: its checker, its default and its description.
 */
import { ImageError } from './errors.js';
import type { Checker, Source } from './params.js';

export interface ParamSpec<T = unknown> {
  readonly check: Checker<unknown>;
  /** The value when the parameter is absent; a given value equal to it counts as not given (imaginary's 0 and ""). */
  readonly default: T;
  /** The one line the docs and the CLI show. */
  readonly description: string;
}

export type ParamSpecs = Readonly<Record<string, ParamSpec>>;

/** An operation's parsed parameters: one typed field per declared parameter, plus which of them were given. */
export type OptionsOf<S extends ParamSpecs> = {
  readonly [K in keyof S]: S[K] extends ParamSpec<infer T> ? T : never;
} & {
  /** Parameters present in the request: some operations (resize's nocrop) depend on presence, as in imaginary. */
  readonly defined: ReadonlySet<string>;
};

/** Options of some operation, seen from outside it (the pipeline, the isolated child): plain data. */
export type StepOptions = Readonly<Record<string, unknown>> & { readonly defined: ReadonlySet<string> };

/** A parameter: its checker's type, without the "" that means "keep the default", joined with the default's. */
export function param<C, D>(check: Checker<C>, fallback: D, description: string): ParamSpec<Exclude<C, ''> | D> {
  return { check, default: fallback, description };
}

/** The raw value of `name` in a query string or JSON object: the first of repeated values, absent when null. */
function rawValue(raw: Readonly<Record<string, unknown>>, name: string): unknown {
  if (!Object.hasOwn(raw, name)) return undefined;
  const value: unknown = raw[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Parse the parameters `specs` declares from `raw`: each present one is checked (a bad value is a 400), the others
 * keep their defaults. Query values are strings (first value wins); pipeline JSON values may be numbers or booleans.
 */
export function parseParams<S extends ParamSpecs>(specs: S, raw: Readonly<Record<string, unknown>>, source: Source): OptionsOf<S> {
  const options: Record<string, unknown> = {};
  const defined = new Set<string>();
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = spec.default;
    const value = rawValue(raw, name);
    if (value === undefined || value === null) continue;
    const parsed = spec.check.parse(name, value, source);
    defined.add(name);
    // An empty enum, colour or text keeps the default, as imaginary's "" does.
    if (parsed !== '') options[name] = parsed;
  }
  options.defined = defined;
  return options as OptionsOf<S>;
}

/** Whether `name` was given a value other than its default: what "required" means here, as in imaginary. */
export function isGiven(specs: ParamSpecs, options: StepOptions, name: string): boolean {
  return options[name] !== specs[name]?.default;
}

export function requireParam(condition: boolean, detail: string): void {
  if (!condition) throw new ImageError('PP_MISSING_PARAM', detail);
}
