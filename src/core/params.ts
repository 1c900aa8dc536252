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
export const tiffCompressions = ['deflate', 'lzw', 'jpeg', 'none'] as const;
export type TiffCompression = (typeof tiffCompressions)[number];

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

/** A non-negative number up to `max`; with `leastNonZero`, anything other than 0 ("not given") must reach it. */
export function float(max = Number.MAX_VALUE, leastNonZero = 0): Checker<number> {
  const expected = leastNonZero > 0 ? `0 or a number from ${leastNonZero} to ${max}` : `non-negative number up to ${max}`;
  return {
    schema: { type: 'number', minimum: 0, maximum: max },
    parse(name, raw) {
      const value = Math.abs(parseNumber(name, raw, expected));
      if (value > max || (value > 0 && value < leastNonZero)) throw invalid(name, raw, expected);
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

// C0 and C1 controls and DEL: a NUL makes Pango's markup parser fail, and none of them draws anything.
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/;
const controlCharactersButNewline = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
/** What Pango starts a new line at, besides wrapping. */
const lineBreaks = /[\n\u2028\u2029]/g;

/** Lines in `value`: explicit breaks only, wrapping aside. */
export function countLines(value: string): number {
  return (value.match(lineBreaks)?.length ?? 0) + 1;
}

/** A string without control characters; with `maxLines`, line breaks are allowed up to that many lines. */
export function text(maxLength = 1024, maxLines = 1): Checker<string> {
  const expected = maxLines > 1
    ? `string of at most ${maxLength} characters and ${maxLines} lines, without control characters other than newline`
    : `string of at most ${maxLength} characters, without control characters`;
  const forbidden = maxLines > 1 ? controlCharactersButNewline : controlCharacters;
  return {
    schema: { type: 'string', maxLength },
    parse(name, raw) {
      if (typeof raw !== 'string' || raw.length > maxLength || forbidden.test(raw) || countLines(raw) > maxLines) {
        throw invalid(name, raw, expected);
      }
      return raw;
    },
  };
}

export interface FontSize {
  readonly size: number;
  /** Pango's "12px": the size is in pixels, not points scaled by dpi. */
  readonly pixels: boolean;
}

// Pango reads a size with g_ascii_strtod, so "1e6", "0x10" and "inf" are sizes to it: anything number-like is checked.
const numberLike = /^[+-]?(?:\d|\.\d|0x|inf|nan)/i;
const plainSize = /^(\d{1,4}(?:\.\d{1,3})?)(px)?$/;

/**
 * The size in a Pango font description ("sans bold 12", "serif 9px @wght=300 #liga"): the last word before any
 * variations (@) and features (#). undefined when the description has no size (Pango then uses its default).
 * Throws on a number-like word that is not a plain size, which Pango would read in ways we could not bound.
 */
export function fontSize(name: string, description: string): FontSize | undefined {
  const { words } = fontWords(description);
  const last = words.at(-1) ?? '';
  if (!numberLike.test(last)) return undefined;
  const match = plainSize.exec(last);
  if (!match) throw invalid(name, description, 'a Pango font description whose size is a plain number, e.g. "sans bold 12"');
  return { size: Number(match[1]), pixels: match[2] === 'px' };
}

/** The same description at another size, which replaces its size word or is added where Pango reads one. */
export function withFontSize(description: string, size: FontSize): string {
  const { words, tail } = fontWords(description);
  if (numberLike.test(words.at(-1) ?? '')) words.pop();
  const sizeWord = `${Number(size.size.toFixed(3))}${size.pixels ? 'px' : ''}`;
  return [...words, sizeWord, ...tail].join(' ');
}

/** A description's words before its variations (@) and features (#), which Pango reads from the end, and those. */
function fontWords(description: string): { words: string[]; tail: string[] } {
  const all = description.trim().split(/\s+/).filter((word) => word !== '');
  let end = all.length;
  while (end > 0 && /^[@#]/.test(all[end - 1]!)) end--;
  return { words: all.slice(0, end), tail: all.slice(end) };
}

/**
 * A Pango font description with a size from 1 to `maxSize`. A larger size only makes a text render larger than any
 * output it could be drawn on; at the default 150 dpi, 512 points are letters over 1,000 pixels tall.
 */
export function font(maxLength: number, maxSize: number): Checker<string> {
  const plain = text(maxLength);
  return {
    schema: plain.schema,
    parse(name, raw, source) {
      const value = plain.parse(name, raw, source);
      const size = fontSize(name, value);
      if (size && (size.size < 1 || size.size > maxSize)) {
        throw invalid(name, raw, `a Pango font description with a size from 1 to ${maxSize}, e.g. "sans bold 12"`);
      }
      return value;
    },
  };
}

/** A case-insensitive choice; `aliases` maps extra spellings onto a canonical value. */
export function oneOf<const T extends string>(values: readonly T[], aliases: Record<string, NoInfer<T>> = {}): Checker<T | ''> {
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
