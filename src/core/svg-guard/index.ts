/**
 * SVG is XML that can point outside the request: external entities, entity expansion bombs, <image href="file:...">,
 * <xi:include>, CSS @import and url(). librsvg (inside libvips) already refuses most of these for in-memory input,
 * but we do not depend on that: an SVG that declares entities or references anything but its own fragments and
 * data: URLs is refused before libvips sees it. The data: URLs are opened too: an embedded SVG goes through this
 * same guard, an embedded image through an upload's format and pixel limits. Everything here is linear in the
 * input and yields to the event loop between slices, so a hostile SVG cannot stall other requests.
 */
import { ImageError } from '../errors.js';
import type { Limits } from '../limits.js';
import { inflate, isGzip, MAX_SVG_BYTES, startsWithMarkup } from './candidate.js';
import { CssScanner, type CssFinding } from './css.js';
import { classifyUrl, decodeDataUrl, type DataUrlPayload } from './data-url.js';
import { MalformedXml, nextTurn, scanDocument } from './document.js';
import { embeddedRasterPixels, isFont } from './raster.js';
import { quoted, refused } from './refused.js';

export { MAX_SVG_BYTES, svgCandidateXml } from './candidate.js';

/** SVG or CSS data: URLs inside each other: three levels is more than any real file uses. */
const MAX_DEPTH = 3;
/** data: URLs per upload, nested ones counted: each costs a header read or a parse. */
const MAX_DATA_URLS = 100;
/** Characters of CSS scanned between turns of the event loop: about as long as an XML slice takes. */
const CSS_SLICE_CHARS = 16 * 1024;

interface Budget {
  readonly limits: Limits;
  dataUrls: number;
  /** Pixels of all embedded images so far, against limits.maxInputPixels. */
  pixels: number;
  /** Bytes of embedded SVG XML still allowed, over all of them. */
  nestedXmlBytes: number;
}

/**
 * Throws PP_UNSAFE_SVG unless the SVG (from svgCandidateXml) stays inside the request; PP_TOO_MANY_PIXELS when its
 * embedded images are over the pixel limit; PP_UNDECODABLE when it is not well-formed XML (librsvg refuses those).
 */
export async function assertSafeSvg(xml: Buffer, limits: Limits): Promise<void> {
  const budget: Budget = { limits, dataUrls: 0, pixels: 0, nestedXmlBytes: MAX_SVG_BYTES };
  try {
    await checkXml(xml, 0, '', budget);
  } catch (err) {
    if (err instanceof MalformedXml) throw new ImageError('PP_UNDECODABLE', `The image could not be decoded: the SVG is not well-formed XML (${err.message})`);
    throw err;
  }
}

/** `within` names the data: URL a nested document came from, for messages. */
async function checkXml(xml: Buffer, depth: number, within: string, budget: Budget): Promise<void> {
  await scanDocument(xml, async (found) => {
    for (const finding of found) {
      const where = finding.where + within;
      if (finding.kind === 'url') await checkUrl(finding.value, where, depth, budget);
      else await checkCss(finding.css, where, depth, budget);
    }
  });
}

async function checkCss(css: string, where: string, depth: number, budget: Budget): Promise<void> {
  const found: CssFinding[] = [];
  const scanner = new CssScanner(css, found);
  while (!scanner.done) {
    scanner.advance(CSS_SLICE_CHARS);
    for (const finding of found.splice(0)) {
      if (finding.kind === 'import') refused(`imports CSS (@import in ${where})`);
      await checkUrl(finding.value, `url() in ${where}`, depth, budget);
    }
    if (!scanner.done) await nextTurn();
  }
}

async function checkUrl(value: string, where: string, depth: number, budget: Budget): Promise<void> {
  const target = classifyUrl(value);
  if (target.kind === 'local') return;
  if (target.kind === 'external') refused(`references an external resource in ${where}: ${quoted(target.url)}`);
  if (++budget.dataUrls > MAX_DATA_URLS) refused(`has more than ${MAX_DATA_URLS} data: URLs`);
  const payload = await decodeDataUrl(target.url);
  if (!payload) refused(`has a data: URL in ${where} that does not decode`);
  await checkPayload(payload, where, depth, budget);
}

/**
 * What librsvg could make of a data: URL. Its declared type is not trusted alone: librsvg sniffs an untyped
 * payload, so anything that looks like XML is checked as SVG and anything else must be a font or an image we read.
 */
async function checkPayload({ essence, bytes }: DataUrlPayload, where: string, depth: number, budget: Budget): Promise<void> {
  const svg = essence === 'image/svg+xml' || isGzip(bytes) || startsWithMarkup(bytes);
  if ((svg || essence === 'text/css') && depth >= MAX_DEPTH) refused(`nests data: URLs more than ${MAX_DEPTH} deep (${where})`);
  if (svg) return checkNestedSvg(bytes, where, depth + 1, budget);
  if (essence === 'text/css') return checkCss(bytes.toString('utf8'), `CSS embedded in ${where}`, depth + 1, budget);
  if (isFont(bytes)) return;
  budget.pixels += await embeddedRasterPixels(bytes, where, budget.limits);
  if (budget.pixels > budget.limits.maxInputPixels) {
    throw new ImageError('PP_TOO_MANY_PIXELS', `SVG embeds images of ${budget.pixels} pixels in total, over the limit of ${budget.limits.maxInputPixels} pixels`);
  }
}

async function checkNestedSvg(bytes: Buffer, where: string, depth: number, budget: Budget): Promise<void> {
  let xml = bytes;
  if (isGzip(bytes)) {
    const inflated = await inflate(bytes, Math.max(1, budget.nestedXmlBytes));
    if (inflated === undefined) refused(`embeds a corrupt compressed SVG in ${where}`);
    if (inflated === 'too large') refused(`embeds SVGs of over ${MAX_SVG_BYTES} bytes in total`);
    xml = inflated;
  }
  budget.nestedXmlBytes -= xml.length;
  if (budget.nestedXmlBytes < 0) refused(`embeds SVGs of over ${MAX_SVG_BYTES} bytes in total`);
  try {
    await checkXml(xml, depth, ` (in the SVG embedded in ${where})`, budget);
  } catch (err) {
    if (err instanceof MalformedXml) refused(`embeds an SVG in ${where} that is not well-formed XML (${err.message})`);
    throw err;
  }
}
