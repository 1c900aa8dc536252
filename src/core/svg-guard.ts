/**
 * SVG is XML that can point outside the request: external entities, entity expansion bombs, <image href="file:...">,
 * <xi:include>, CSS @import and url(). librsvg (inside libvips) already refuses most of these for in-memory input,
 * but we do not depend on that: an SVG that declares entities or references anything but its own fragments and
 * data: URIs is refused before libvips sees it.
 */
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

export function assertSafeSvg(data: Buffer): void {
  const text = data.toString('utf8');
  for (const [pattern, problem] of checks) {
    if (pattern.test(text)) throw new ImageError('PP_UNSAFE_SVG', `SVG refused: it ${problem}`);
  }
}
