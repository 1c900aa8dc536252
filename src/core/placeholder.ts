/**
 * Placeholders: what a page shows while the image loads. A BlurHash or ThumbHash string (the reference encoders from
 * npm, `blurhash` and `thumbhash`), or an LQIP: a tiny WebP of the image.
 *
 * Not an operation: the answer is not an image for a next step (a hash is JSON), so it cannot be a pipeline step.
 * It reuses the pipeline all the same: the image is first reduced with imaginary's `fit` through prepare() and
 * execute(), so decoding keeps every limit, the deadline, EXIF orientation, shrink-on-load and the isolated child for
 * SVG, and only the small result (at most 100x100, ThumbHash's own limit) is hashed here.
 */
import { encode as blurhashEncode } from 'blurhash';
import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { ImageError } from './errors.js';
import { checkKnownParams } from './imaginary-params.js';
import type { DecodePolicy, Limits } from './limits.js';
import { param, parseParams, type OptionsOf } from './options.js';
import { integer, oneOf, type Checker, type Source } from './params.js';
import { execute, info, prepare, type PreparedStep } from './pipeline.js';

export const placeholderTypes = ['blurhash', 'thumbhash', 'lqip'] as const;
export type PlaceholderType = (typeof placeholderTypes)[number];

/** BlurHash components across and down, "XxY", 1-9 each (the format's own bounds). */
const components: Checker<readonly [number, number]> = {
  schema: { type: 'string', pattern: '^[1-9]x[1-9]$' },
  parse(name, raw) {
    const match = typeof raw === 'string' ? /^([1-9])x([1-9])$/.exec(raw.trim()) : null;
    if (!match) throw new ImageError('PP_INVALID_PARAM', `Expected components across x down, each 1-9 (e.g. 4x3), for ${name} but received ${JSON.stringify(raw)}`);
    return [Number(match[1]), Number(match[2])];
  },
};

/** The largest LQIP side: past it, a placeholder stops being a few hundred bytes. */
const MAX_LQIP_SIZE = 64;
/** ThumbHash refuses larger inputs; BlurHash gains nothing from more pixels. */
const HASH_INPUT_SIZE = 100;

export const placeholderParams = {
  type: param(oneOf(placeholderTypes), '' as const, 'blurhash, thumbhash or lqip (a tiny WebP).'),
  components: param(components, [4, 3] as const, 'blurhash only: components across x down, 1-9 each (default 4x3); more shows more detail in a longer hash.'),
  size: param(integer(MAX_LQIP_SIZE), 32, `lqip only: the longest side in pixels, 1-${MAX_LQIP_SIZE} (default 32).`),
  quality: param(integer(100), 50, 'lqip only: WebP quality, 1-100 (default 50).'),
  format: param(oneOf(['webp', 'json'] as const), 'webp' as const, 'lqip only: webp (the image itself, default) or json (its data URI, with the dimensions).'),
};
type PlaceholderOptions = OptionsOf<typeof placeholderParams>;

/** Which parameters each type reads; the others given are ignored and named, as on image routes. */
const usedBy: Readonly<Record<PlaceholderType, readonly (keyof typeof placeholderParams)[]>> = {
  blurhash: ['type', 'components'],
  thumbhash: ['type'],
  lqip: ['type', 'size', 'quality', 'format'],
};

export interface PreparedPlaceholder {
  type: PlaceholderType;
  options: PlaceholderOptions;
  /** The reduction, checked like any request's steps. */
  steps: PreparedStep[];
  /** Parameters given that this type does not use. */
  ignored: string[];
}

/** Check the request before the upload is read: a bad parameter is a 400 without a byte of body. */
export function preparePlaceholder(raw: Readonly<Record<string, unknown>>, limits: Limits, source: Source = 'query'): PreparedPlaceholder {
  const options = parseParams(placeholderParams, raw, source);
  const foreign = checkKnownParams(raw, placeholderParams, source);
  const type = options.type;
  if (type === '') throw new ImageError('PP_MISSING_PARAM', 'Missing required param: type (blurhash, thumbhash or lqip)');
  if (options.defined.has('size') && options.size === 0) throw new ImageError('PP_INVALID_PARAM', `Expected size from 1 to ${MAX_LQIP_SIZE} but received 0`);
  const unused = Object.keys(placeholderParams).filter((name) => options.defined.has(name) && !usedBy[type].includes(name as keyof typeof placeholderParams));
  const side = type === 'lqip' ? options.size : HASH_INPUT_SIZE;
  // PNG for the hashes (lossless, and it keeps alpha for ThumbHash); noprofile: pixels in sRGB, no 3 KB ICC in an LQIP.
  const params = type === 'lqip'
    ? { width: side, height: side, type: 'webp', quality: options.quality || 50, stripmeta: true, noprofile: true }
    : { width: side, height: side, type: 'png', stripmeta: true, noprofile: true };
  return { type, options, steps: prepare([{ operation: 'fit', params }], limits, 'json'), ignored: [...unused, ...foreign] };
}

interface Dimensions {
  /** The image's width and height as displayed: after its EXIF orientation. */
  width: number;
  height: number;
}

export type PlaceholderResult =
  | ({ type: 'blurhash' | 'thumbhash'; hash: string } & Dimensions)
  | ({ type: 'lqip'; image: Buffer; mime: 'image/webp'; placeholderWidth: number; placeholderHeight: number } & Dimensions);

export interface PlaceholderRunOptions {
  limits: Limits;
  decode: DecodePolicy;
  /** Aborting stops the work and rejects with PP_CLIENT_GONE. */
  signal?: AbortSignal | undefined;
}

export async function makePlaceholder(input: Buffer, prepared: PreparedPlaceholder, options: PlaceholderRunOptions): Promise<PlaceholderResult> {
  const meta = await info(input, options.limits, options.decode);
  // Orientations 5-8 turn the image a quarter: the displayed width is the stored height.
  const dimensions = meta.orientation >= 5 ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
  const reduced = await execute(input, prepared.steps, { limits: options.limits, decode: options.decode, signal: options.signal });
  if (prepared.type === 'lqip') {
    return { type: 'lqip', ...dimensions, image: reduced.data, mime: 'image/webp', placeholderWidth: reduced.width, placeholderHeight: reduced.height };
  }
  // At most 100x100 pixels of our own PNG: decoding it takes well under a millisecond, so it needs no deadline.
  // BlurHash has no alpha: transparent areas are shown on white, as a page background most often is.
  const small = prepared.type === 'blurhash' ? sharp(reduced.data).flatten({ background: '#ffffff' }) : sharp(reduced.data);
  const { data, info: size } = await small.toColourspace('srgb').ensureAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (prepared.type === 'blurhash') {
    const [x, y] = prepared.options.components;
    return { type: 'blurhash', ...dimensions, hash: blurhashEncode(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), size.width, size.height, x, y) };
  }
  return { type: 'thumbhash', ...dimensions, hash: Buffer.from(rgbaToThumbHash(size.width, size.height, data)).toString('base64') };
}
