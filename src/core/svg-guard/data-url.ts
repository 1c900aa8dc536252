/**
 * What a URL in an SVG points at, read the way librsvg's URL and data: URL parsers (WHATWG) read it, so the bytes
 * checked are the bytes librsvg would load. Payloads can be megabytes: the byte loops hand the event loop back
 * between slices, and no regex runs over a whole payload.
 */
import { nextTurn } from './document.js';

/** A same-document reference (`#id`, or empty), a data: URL, or anything else (external). */
export type Target = { kind: 'local' } | { kind: 'data'; url: string } | { kind: 'external'; url: string };

/** Bytes a decoding loop handles between turns of the event loop: a few milliseconds. */
const SLICE_BYTES = 1024 * 1024;

const isC0OrSpace = (code: number): boolean => code <= 0x20;

/** The URL parser strips leading and trailing C0 controls and spaces, and drops every tab and newline inside. */
export function classifyUrl(raw: string): Target {
  let start = 0;
  let end = raw.length;
  // Index loops rather than /^\s+|\s+$/, whose second half backtracks quadratically over inner runs of spaces.
  while (start < end && isC0OrSpace(raw.charCodeAt(start))) start++;
  while (end > start && isC0OrSpace(raw.charCodeAt(end - 1))) end--;
  let url = raw.slice(start, end);
  for (const drop of ['\t', '\n', '\r']) if (url.includes(drop)) url = url.split(drop).join('');
  if (url === '' || url.startsWith('#')) return { kind: 'local' };
  if (url.slice(0, 5).toLowerCase() === 'data:') return { kind: 'data', url };
  return { kind: 'external', url };
}

export interface DataUrlPayload {
  /** The MIME type's essence, lower-cased ("image/png"); "text/plain" when none is given. */
  essence: string;
  bytes: Buffer;
}

const isAsciiWhitespace = (code: number): boolean => code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d || code === 0x20;

function trimAsciiWhitespace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isAsciiWhitespace(text.charCodeAt(start))) start++;
  while (end > start && isAsciiWhitespace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

const hexValue = (byte: number): number => {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
};

/** URL percent-decoding: %XX becomes the byte, a stray % stays as it is. */
async function percentDecode(text: string): Promise<Buffer> {
  const input = Buffer.from(text, 'utf8');
  if (!input.includes(0x25)) return input;
  const out = Buffer.allocUnsafe(input.length);
  let length = 0;
  let nextPause = SLICE_BYTES;
  for (let i = 0; i < input.length; i++) {
    if (i >= nextPause) {
      await nextTurn();
      nextPause = i + SLICE_BYTES;
    }
    const byte = input[i]!;
    const high = byte === 0x25 && i + 2 < input.length ? hexValue(input[i + 1]!) : -1;
    const low = high >= 0 ? hexValue(input[i + 2]!) : -1;
    if (low >= 0) {
      out[length++] = (high << 4) | low;
      i += 2;
    } else {
      out[length++] = byte;
    }
  }
  return out.subarray(0, length);
}

/** For forgiving-base64: 1 in the alphabet, 2 ASCII whitespace, 3 '=', 0 anything else. */
const base64Class = new Uint8Array(256);
for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') base64Class[char.charCodeAt(0)] = 1;
for (const code of [0x09, 0x0a, 0x0c, 0x0d, 0x20]) base64Class[code] = 2;
base64Class[0x3d] = 3;

/**
 * WHATWG forgiving-base64: whitespace is ignored, '=' only as the last one or two, anything else outside the
 * alphabet is a failure (where Node's decoder would skip it), so a payload librsvg refuses is not decoded here.
 */
async function forgivingBase64(input: Buffer): Promise<Buffer | undefined> {
  const clean = Buffer.allocUnsafe(input.length);
  let length = 0;
  let firstPad = -1;
  let nextPause = SLICE_BYTES;
  for (let i = 0; i < input.length; i++) {
    if (i >= nextPause) {
      await nextTurn();
      nextPause = i + SLICE_BYTES;
    }
    const kind = base64Class[input[i]!]!;
    if (kind === 0) return undefined;
    if (kind === 2) continue;
    if (kind === 3 && firstPad < 0) firstPad = length;
    clean[length++] = input[i]!;
  }
  // One or two '=' may end a length that is a multiple of 4; any other '=' is a failure.
  if (length % 4 === 0 && clean[length - 1] === 0x3d) {
    length--;
    if (clean[length - 1] === 0x3d) length--;
  }
  if (length % 4 === 1 || (firstPad >= 0 && firstPad < length)) return undefined;
  return Buffer.from(clean.toString('latin1', 0, length), 'base64');
}

/** The body of a data: URL (from classifyUrl), or undefined if librsvg could not decode it either. */
export async function decodeDataUrl(url: string): Promise<DataUrlPayload | undefined> {
  const comma = url.indexOf(',', 5);
  if (comma < 0) return undefined;
  let mime = trimAsciiWhitespace(url.slice(5, comma));
  // The fragment is not part of the body: `data:image/svg+xml,<svg …>#g` loads the document before '#'.
  const hash = url.indexOf('#', comma + 1);
  const body = await percentDecode(url.slice(comma + 1, hash < 0 ? url.length : hash));
  let base64 = false;
  if (mime.slice(-6).toLowerCase() === 'base64') {
    let end = mime.length - 6;
    while (end > 0 && mime.charCodeAt(end - 1) === 0x20) end--;
    if (end > 0 && mime[end - 1] === ';') {
      base64 = true;
      mime = mime.slice(0, end - 1);
    }
  }
  const semicolon = mime.indexOf(';');
  const essence = trimAsciiWhitespace(semicolon < 0 ? mime : mime.slice(0, semicolon)).toLowerCase() || 'text/plain';
  if (!base64) return { essence, bytes: body };
  const bytes = await forgivingBase64(body);
  return bytes && { essence, bytes };
}
