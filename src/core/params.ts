/**
 * Parameter checkers: each turns a raw query-string or JSON value into a typed value with imaginary's coercions,
 * and describes itself as JSON Schema for the OpenAPI document. One table serves every operation.
 */
import { ImageError } from './errors.js';

export type Source = 'query' | 'json';
export type Rgb = readonly [number, number, number];

export const outputTypes = ['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff'] as const;
export type OutputType = (typeof outputTypes)[number];
export const gravities = ['centre', 'north', 'south', 'east', 'west', 'smart'] as const;
export type Gravity = (typeof gravities)[number];
export const extendModes = ['copy', 'black', 'white', 'background', 'lastpixel', 'mirror'] as const;
export type ExtendMode = (typeof extendModes)[number];

export interface Checker<T> {
  readonly schema: Record<string, unknown>;
  parse(name: string, raw: unknown, source: Source): T;
}

function invalid(name: string, raw: unknown, expected: string): ImageError {
  const shown = typeof raw === 'string' ? JSON.stringify(raw) : JSON.stringify(raw) ?? String(raw);
  return new ImageError('PP_INVALID_PARAM', `Expected ${expected} for ${name} but received ${shown}`);
}

// Go's strconv.ParseFloat syntax without Inf/NaN: imaginary parses every number this way.
const decimal = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseNumber(name: string, raw: unknown, expected: string): number {
  if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
  if (typeof raw === 'string') {
    if (raw === '') return 0;
    if (decimal.test(raw)) {
      const value = Number(raw);
      if (Number.isFinite(value)) return value;
    }
  }
  throw invalid(name, raw, expected);
}

/** imaginary's int: absolute value, rounded half up from a string, truncated from a JSON number. */
export function integer(max = Number.MAX_SAFE_INTEGER): Checker<number> {
  return {
    schema: { type: 'integer', minimum: 0, maximum: max },
    parse(name, raw, source) {
      const value = parseNumber(name, raw, `non-negative integer up to ${max}`);
      const rounded = source === 'json' && typeof raw === 'number' ? Math.trunc(Math.abs(value)) : Math.floor(Math.abs(value) + 0.5);
      if (rounded > max) throw invalid(name, raw, `non-negative integer up to ${max}`);
      return rounded;
    },
  };
}

export function float(max = Number.MAX_VALUE): Checker<number> {
  return {
    schema: { type: 'number', minimum: 0, maximum: max },
    parse(name, raw) {
      const value = Math.abs(parseNumber(name, raw, `non-negative number up to ${max}`));
      if (value > max) throw invalid(name, raw, `non-negative number up to ${max}`);
      return value;
    },
  };
}

const truthy = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const falsy = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False', '']);

/** Go's strconv.ParseBool, which is what imaginary accepts. */
export const boolean: Checker<boolean> = {
  schema: { type: 'boolean' },
  parse(name, raw) {
    if (typeof raw === 'boolean') return raw;
    if (typeof raw === 'string') {
      if (truthy.has(raw)) return true;
      if (falsy.has(raw)) return false;
    }
    throw invalid(name, raw, 'boolean (true, false, 1, 0)');
  },
};

export function text(maxLength = 1024): Checker<string> {
  return {
    schema: { type: 'string', maxLength },
    parse(name, raw) {
      if (typeof raw !== 'string' || raw.length > maxLength) throw invalid(name, raw, `string of at most ${maxLength} characters`);
      return raw;
    },
  };
}

/** A case-insensitive choice; `aliases` maps extra spellings onto a canonical value. */
export function oneOf<T extends string>(values: readonly T[], aliases: Record<string, T> = {}): Checker<T | ''> {
  const accepted = [...values, ...Object.keys(aliases)];
  return {
    schema: { type: 'string', enum: accepted },
    parse(name, raw) {
      if (typeof raw !== 'string') throw invalid(name, raw, `one of ${accepted.join(', ')}`);
      const key = raw.trim().toLowerCase();
      if (key === '') return '';
      if ((values as readonly string[]).includes(key)) return key as T;
      const alias = aliases[key];
      if (alias !== undefined) return alias;
      throw invalid(name, raw, `one of ${accepted.join(', ')}`);
    },
  };
}

/** "R,G,B" with each part 0-255, as imaginary's color and background. */
export const rgb: Checker<Rgb> = {
  schema: { type: 'string', pattern: '^\\s*\\d{1,3}\\s*,\\s*\\d{1,3}\\s*,\\s*\\d{1,3}\\s*$', example: '255,255,255' },
  parse(name, raw) {
    const parts = typeof raw === 'string' ? raw.split(',').map((part) => part.trim()) : [];
    if (parts.length !== 3 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) {
      throw invalid(name, raw, 'colour "R,G,B" with parts from 0 to 255');
    }
    return [Number(parts[0]), Number(parts[1]), Number(parts[2])];
  },
};

export interface AspectRatio {
  readonly width: number;
  readonly height: number;
}

export const aspectRatio: Checker<AspectRatio> = {
  schema: { type: 'string', pattern: '^\\d+:\\d+$', example: '16:9' },
  parse(name, raw) {
    const match = typeof raw === 'string' ? /^(\d{1,5}):(\d{1,5})$/.exec(raw.trim()) : null;
    const width = Number(match?.[1]);
    const height = Number(match?.[2]);
    if (!match || width === 0 || height === 0) throw invalid(name, raw, 'aspect ratio "W:H" with positive integers');
    return { width, height };
  },
};
