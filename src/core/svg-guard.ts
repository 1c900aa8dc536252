/**
 * SVG is XML that can point outside the request: external entities, entity expansion bombs, <image href="file:...">,
 * <xi:include>, CSS @import and url(). librsvg (inside libvips) already refuses most of these for in-memory input,
 * but we do not depend on that: an SVG that declares entities or references anything but its own fragments and
 * data: URIs is refused before libvips sees it.
 */
import { gunzipSync } from 'node:zlib';
import { ImageError } from './errors.js';

const checks: readonly [RegExp, string][] = [
  [/<!ENTITY/i, 'declares XML entities'],
  [/<!DOCTYPE[^>]*\[/i, 'has an internal DTD subset'],
  [/<xi:include/i, 'uses XInclude'],
  [/@import/i, 'imports CSS'],
  // href, xlink:href and src values must be fragments (#id) or data: URIs.
  [/\b(?:xlink:)?(?:href|src)\s*=\s*["']?\s*(?!#|data:)[^"'\s>]/i, 'references an external resource'],
  // CSS url() likewise, quoted or not.
  [/url\(\s*["']?\s*(?!#|data:)[^)"'\s]/i, 'references an external resource in CSS'],
];

/** libxml2 refuses text nodes over 10 MB anyway; an svgz that inflates past this is refused, not parsed. */
const MAX_SVG_TEXT_BYTES = 16 * 1024 * 1024;

/**
 * The XML text of an upload that libvips might load as SVG: plain XML (optionally after a BOM and whitespace) or
 * gzip-compressed (svgz: libvips inflates it). Undefined for anything else.
 */
export function svgCandidateText(data: Buffer): string | undefined {
  let text: string;
  if (data[0] === 0x1f && data[1] === 0x8b) {
    try {
      text = gunzipSync(data, { maxOutputLength: MAX_SVG_TEXT_BYTES }).toString('utf8');
    } catch (err) {
      // libvips reads gzip only as svgz: one too big to check is refused; a broken one is left to libvips to reject.
      if (err instanceof RangeError) throw new ImageError('PP_UNSAFE_SVG', `SVG refused: it inflates past ${MAX_SVG_TEXT_BYTES} bytes`);
      return undefined;
    }
  } else {
    const head = data.toString('utf8', 0, Math.min(data.length, 1024)).replace(/^\uFEFF/, '').trimStart();
    if (!head.startsWith('<')) return undefined;
    text = data.toString('utf8');
  }
  return /<svg[\s>]/i.test(text) ? text : undefined;
}

const codePoint = (value: number): string => (value > 0 && value <= 0x10ffff ? String.fromCodePoint(value) : '\ufffd');

/** XML character references and CSS escapes spelled out, so `&#117;rl(` and `u\\72 l(` read as `url(`. */
function unescaped(text: string): string {
  return text
    .replace(/&#x([0-9a-f]{1,8});?/gi, (_, hex: string) => codePoint(Number.parseInt(hex, 16)))
    .replace(/&#([0-9]{1,10});?/g, (_, dec: string) => codePoint(Number(dec)))
    .replace(/\\([0-9a-f]{1,6})\s?/gi, (_, hex: string) => codePoint(Number.parseInt(hex, 16)))
    .replace(/\\(.)/g, '$1');
}

/** Throws PP_UNSAFE_SVG unless the SVG text (from svgCandidateText) stays inside the request. */
export function assertSafeSvg(text: string): void {
  for (const candidate of [text, unescaped(text)]) {
    for (const [pattern, problem] of checks) {
      if (pattern.test(candidate)) throw new ImageError('PP_UNSAFE_SVG', `SVG refused: it ${problem}`);
    }
  }
}
