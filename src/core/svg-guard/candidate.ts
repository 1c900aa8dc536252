/** Whether an upload is an SVG libvips would render, and its XML bytes (an svgz inflated), read without blocking. */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { nextTurn } from './document.js';
import { refused } from './refused.js';

/**
 * XML bytes the guard parses per upload (an svgz inflated, or a plain SVG), and again for all the SVGs it embeds
 * together. libxml2 refuses attribute values over 10 MB anyway, and at the 50-150 ms per MiB measured here this
 * bounds the guard at about 1-2.5 s of main-thread work per upload, handed out in slices of a few ms.
 */
export const MAX_SVG_BYTES = 16 * 1024 * 1024;

const gunzipAsync = promisify(gunzip);

export const isGzip = (data: Buffer): boolean => data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;

/**
 * Inflates in zlib's thread pool: gunzipSync of 16 MiB held the event loop 70-240 ms here. 'too large' past
 * maxBytes; undefined when the data is not valid gzip.
 */
export async function inflate(data: Buffer, maxBytes: number): Promise<Buffer | 'too large' | undefined> {
  try {
    return await gunzipAsync(data, { maxOutputLength: maxBytes });
  } catch (err) {
    return err instanceof RangeError ? 'too large' : undefined;
  }
}

/** Markup after an optional BOM and whitespace, as XML starts. */
export function startsWithMarkup(data: Buffer): boolean {
  const head = data.toString('utf8', 0, Math.min(data.length, 1024)).replace(/^\uFEFF/, '').trimStart();
  return head.startsWith('<');
}

/** Bytes searched for `<svg` between turns of the event loop; latin1 keeps every byte one character. */
const SNIFF_SLICE = 1024 * 1024;

async function containsSvgTag(xml: Buffer): Promise<boolean> {
  for (let offset = 0; offset < xml.length; offset += SNIFF_SLICE) {
    // Four bytes of overlap, so a tag split across two slices is still found.
    if (/<svg[\s>]/i.test(xml.toString('latin1', Math.max(0, offset - 4), offset + SNIFF_SLICE))) return true;
    await nextTurn();
  }
  return false;
}

/**
 * The XML of an upload that libvips might load as SVG: plain XML (optionally after a BOM and whitespace) or
 * gzip-compressed (svgz: libvips inflates it). Undefined for anything else.
 */
export async function svgCandidateXml(data: Buffer): Promise<Buffer | undefined> {
  let xml = data;
  if (isGzip(data)) {
    const inflated = await inflate(data, MAX_SVG_BYTES);
    // libvips reads gzip only as svgz: one too big to check is refused; a broken one is left to libvips to reject.
    if (inflated === 'too large') refused(`inflates past ${MAX_SVG_BYTES} bytes`);
    if (inflated === undefined) return undefined;
    xml = inflated;
  }
  if (!startsWithMarkup(xml) || !(await containsSvgTag(xml))) return undefined;
  if (xml.length > MAX_SVG_BYTES) refused(`is over ${MAX_SVG_BYTES} bytes`);
  return xml;
}
