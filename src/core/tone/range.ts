/**
 * Checkers for the tone and colour operations, whose parameters may be negative (brightness -255..255, an angle) or
 * must not be (a multiplier): params.ts's float() takes the absolute value, as imaginary does, which would turn a
 * contrast of -1 into 1 silently. Here a value outside [min, max], NaN or Infinity is a 400 naming the range.
 */
import { ImageError } from '../errors.js';
import type { Checker } from '../params.js';

// Go's strconv.ParseFloat syntax without Inf/NaN, as params.ts accepts numbers everywhere else.
const decimal = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function invalid(name: string, raw: unknown, expected: string): ImageError {
  return new ImageError('PP_INVALID_PARAM', `Expected ${expected} for ${name} but received ${JSON.stringify(raw) ?? String(raw)}`);
}

/** A number from min to max (integers only with `integer`); "" keeps the default, as imaginary's empty values do. */
export function between(min: number, max: number, integer = false): Checker<number | ''> {
  const expected = `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`;
  return {
    schema: { type: integer ? 'integer' : 'number', minimum: min, maximum: max },
    parse(name, raw) {
      if (raw === '') return '';
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' && decimal.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
      if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) throw invalid(name, raw, expected);
      return value;
    },
  };
}

/** imgproxy's CSS-like list "top[,right[,bottom[,left]]]" of integers from 0 to max: [top, right, bottom, left]. */
export function sides(max: number): Checker<readonly [number, number, number, number] | ''> {
  const expected = `1 to 4 comma-separated integers from 0 to ${max} (top, right, bottom, left, as in CSS)`;
  return {
    schema: { type: 'string', pattern: '^\\d+(,\\d+){0,3}$', example: '10,20' },
    parse(name, raw) {
      if (raw === '') return '';
      const parts = typeof raw === 'number' ? [String(raw)] : typeof raw === 'string' ? raw.split(',').map((part) => part.trim()) : [];
      const values = parts.map((part) => (/^\d{1,9}$/.test(part) ? Number(part) : Number.NaN));
      if (values.length < 1 || values.length > 4 || values.some((v) => !(v <= max))) throw invalid(name, raw, expected);
      const [top, right = top, bottom = top, left = right] = values as [number, ...number[]];
      return [top, right, bottom, left] as const;
    },
  };
}
