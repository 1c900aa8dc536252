/**
 * imaginary's parameter table. Like imaginary, every image endpoint parses every parameter, so a bad value
 * fails the request even where that endpoint ignores it; one parser serves the query string and pipeline JSON.
 */
import { ImageError } from './errors.js';
import {
  aspectRatio, boolean, extendModes, float, font, gravities, integer, oneOf, outputTypes, rgb, text,
  type AspectRatio, type Checker, type ExtendMode, type Gravity, type OutputType, type Rgb, type Source,
} from './params.js';

const dimension = integer(1_000_000);

/** Every parameter: its checker and the one-line description the docs and CLI show. */
export const paramTable = {
  width: { check: dimension, description: 'Target width in pixels.' },
  height: { check: dimension, description: 'Target height in pixels.' },
  areawidth: { check: dimension, description: 'Width of the area to extract.' },
  areaheight: { check: dimension, description: 'Height of the area to extract.' },
  top: { check: dimension, description: 'Top offset of the area to extract.' },
  left: { check: dimension, description: 'Left offset of the area to extract.' },
  quality: { check: integer(100), description: 'Encoder quality 1-100 for JPEG, WebP, AVIF and TIFF (default 75, as imaginary).' },
  compression: { check: integer(9), description: 'PNG zlib compression level 0-9 (default 6).' },
  rotate: { check: integer(100_000), description: 'Rotation in degrees, rounded down to a multiple of 90 (at most 270).' },
  factor: { check: integer(64), description: 'Zoom: the image is enlarged factor+1 times.' },
  margin: { check: integer(100_000), description: 'Watermark: space between replicated texts.' },
  // 1200 is beyond any print resolution; more only makes letters larger, which the font size already does.
  dpi: { check: integer(1_200), description: 'Watermark: text resolution, at most 1200 (default 150).' },
  textwidth: { check: dimension, description: 'Watermark: width of the text box, at most the image width (default image width / 6).' },
  speed: { check: integer(9), description: 'AVIF encoder speed 1-9, higher is faster and larger; 0 or absent means 8.' },
  opacity: { check: float(1), description: 'Watermark opacity 0-1 (default 0.25).' },
  sigma: { check: float(1000), description: 'Gaussian blur sigma; any value above 0 blurs.' },
  // libvips' Gaussian mask needs at least 0.001 (sharp refuses less).
  minampl: { check: float(1, 0.001), description: 'Gaussian blur minimum amplitude, 0.001-1 (default 0.2).' },
  flip: { check: boolean, description: 'Mirror left and right (imaginary naming).' },
  flop: { check: boolean, description: 'Mirror top and bottom (imaginary naming).' },
  nocrop: { check: boolean, description: 'resize: crop when given and false; enlarge: do not crop when true.' },
  noprofile: { check: boolean, description: 'Drop the ICC profile from the output.' },
  norotation: { check: boolean, description: 'Do not apply the EXIF orientation.' },
  noreplicate: { check: boolean, description: 'Watermark: draw the text once instead of tiling it.' },
  force: { check: boolean, description: 'Resize to exactly width x height, ignoring the aspect ratio.' },
  embed: { check: boolean, description: 'Fit inside width x height and pad to exactly that size.' },
  stripmeta: { check: boolean, description: 'Drop all metadata (EXIF, XMP, ICC) from the output.' },
  interlace: { check: boolean, description: 'Progressive JPEG or interlaced PNG/GIF.' },
  palette: { check: boolean, description: 'Quantise PNG output to an 8-bit palette.' },
  // Every line can be as wide as the text box, so lines multiply the pixels a render takes before its size is known.
  text: { check: text(1024, 16), description: 'Watermark text: at most 1024 characters and 16 lines.' },
  font: { check: font(128, 512), description: 'Watermark font, a Pango description such as "sans bold 12" (size at most 512).' },
  image: { check: text(), description: 'Watermark image URL (not served yet: /watermarkimage is disabled).' },
  type: {
    check: oneOf([...outputTypes, 'auto'] as const, { jpg: 'jpeg', tif: 'tiff' }),
    description: 'Output format: jpeg, png, webp, avif, gif, tiff, or auto (negotiated from Accept). Default: the input format.',
  },
  color: { check: rgb, description: 'Watermark text colour "R,G,B".' },
  background: { check: rgb, description: 'Background colour "R,G,B": flattens transparency, and pads when extend=background.' },
  colorspace: { check: oneOf(['srgb', 'bw'] as const, { 'b-w': 'bw' }), description: 'Output colour space: srgb (default) or bw.' },
  gravity: { check: oneOf(gravities, { center: 'centre' }), description: 'Crop anchor: centre, north, south, east, west, or smart.' },
  extend: { check: oneOf(extendModes), description: 'How padding is filled: copy (default), black, white, background, lastpixel, mirror.' },
  aspectratio: { check: aspectRatio, description: 'Aspect ratio "W:H" used when only one of width or height is given.' },
} as const satisfies Record<string, { check: Checker<unknown>; description: string }>;

export type ParamName = keyof typeof paramTable;
export const paramNames = Object.keys(paramTable) as ParamName[];

export interface ImageOptions {
  width: number; height: number; areawidth: number; areaheight: number; top: number; left: number;
  quality: number; compression: number; rotate: number; factor: number; margin: number; dpi: number;
  textwidth: number; speed: number; opacity: number; sigma: number; minampl: number;
  flip: boolean; flop: boolean; nocrop: boolean; noprofile: boolean; norotation: boolean; noreplicate: boolean;
  force: boolean; embed: boolean; stripmeta: boolean; interlace: boolean; palette: boolean;
  text: string; font: string; image: string;
  type: OutputType | 'auto' | '';
  color: Rgb | undefined;
  background: Rgb | undefined;
  colorspace: 'srgb' | 'bw';
  gravity: Gravity;
  extend: ExtendMode;
  aspectratio: AspectRatio | undefined;
  /** Which parameters were present: some operations (resize's nocrop) depend on presence, as in imaginary. */
  defined: ReadonlySet<ParamName>;
}

function defaultOptions(): ImageOptions {
  return {
    width: 0, height: 0, areawidth: 0, areaheight: 0, top: 0, left: 0,
    quality: 0, compression: 0, rotate: 0, factor: 0, margin: 0, dpi: 0,
    textwidth: 0, speed: 0, opacity: 0, sigma: 0, minampl: 0,
    flip: false, flop: false, nocrop: false, noprofile: false, norotation: false, noreplicate: false,
    force: false, embed: false, stripmeta: false, interlace: false, palette: false,
    text: '', font: '', image: '', type: '', color: undefined, background: undefined,
    colorspace: 'srgb', gravity: 'centre', extend: 'copy', aspectratio: undefined, defined: new Set(),
  };
}

/**
 * Parse every known parameter in `raw`; unknown keys are ignored, as imaginary does.
 * Query values are strings (first value wins); pipeline JSON values may be numbers or booleans.
 */
export function parseOptions(raw: Readonly<Record<string, unknown>>, source: Source): ImageOptions {
  const options = defaultOptions() as unknown as Record<string, unknown>;
  const defined = new Set<ParamName>();
  for (const name of paramNames) {
    if (!Object.hasOwn(raw, name)) continue;
    let value = raw[name];
    if (Array.isArray(value)) value = value[0];
    if (value === undefined || value === null) continue;
    const parsed = paramTable[name].check.parse(name, value, source);
    defined.add(name);
    // An empty enum or colour keeps the default, as imaginary's "" does.
    if (parsed !== '') options[name] = parsed;
  }
  options.defined = defined;
  return options as unknown as ImageOptions;
}

/**
 * `options` with only `names` kept and every other parameter at its default: an operation never sees another's
 * parameters (a `text` sent to /resize draws nothing, as in imaginary, whose operations each pick their own).
 */
export function scopeOptions(options: ImageOptions, names: readonly ParamName[]): ImageOptions {
  const scoped = defaultOptions() as unknown as Record<string, unknown>;
  const all = options as unknown as Record<string, unknown>;
  for (const name of names) scoped[name] = all[name];
  scoped.defined = new Set([...options.defined].filter((name) => names.includes(name)));
  return scoped as unknown as ImageOptions;
}

export function requireParam(condition: boolean, detail: string): void {
  if (!condition) throw new ImageError('PP_MISSING_PARAM', detail);
}
