/**
 * imaginary's parameters, the vocabulary its operations share (they all fill one bimg options struct). Operations pick
 * theirs from here; an operation of our own may declare others. Like imaginary, a request to any image route has every
 * one of these checked, so a bad value fails it even where the route ignores the parameter (see checkKnownParams).
 */
import {
  aspectRatio, boolean, extendModes, float, font, gravities, integer, oneOf, outputTypes, rgb, text, tiffCompressions, type Source,
} from './params.js';
import { param, parseParams, type OptionsOf, type ParamSpecs } from './options.js';

const dimension = integer(1_000_000);

export const imaginaryParams = {
  width: param(dimension, 0, 'Target width in pixels.'),
  height: param(dimension, 0, 'Target height in pixels.'),
  areawidth: param(dimension, 0, 'Width of the area to extract.'),
  areaheight: param(dimension, 0, 'Height of the area to extract.'),
  top: param(dimension, 0, 'Top offset of the area to extract.'),
  left: param(dimension, 0, 'Left offset of the area to extract.'),
  quality: param(integer(100), 0, 'Encoder quality 1-100 for JPEG, WebP, AVIF and TIFF (default 75, as imaginary).'),
  compression: param(integer(9), 0, 'PNG zlib compression level 0-9 (default 6).'),
  rotate: param(integer(100_000), 0, 'Rotation in degrees, rounded down to a multiple of 90 (at most 270).'),
  factor: param(integer(64), 0, 'Zoom: the image is enlarged factor+1 times.'),
  margin: param(integer(100_000), 0, 'Watermark: space between replicated texts.'),
  // 1200 is beyond any print resolution; more only makes letters larger, which the font size already does.
  dpi: param(integer(1_200), 0, 'Watermark: text resolution, at most 1200 (default 150).'),
  textwidth: param(dimension, 0, 'Watermark: width of the text box, at most the image width (default image width / 6).'),
  speed: param(integer(9), 0, 'AVIF encoder speed 1-9, higher is faster and larger; 0 or absent means 8.'),
  opacity: param(float(1), 0, 'Watermark opacity 0-1 (default 0.25).'),
  sigma: param(float(1000), 0, 'Gaussian blur sigma; any value above 0 blurs.'),
  // libvips' Gaussian mask needs at least 0.001 (sharp refuses less).
  minampl: param(float(1, 0.001), 0, 'Gaussian blur minimum amplitude, 0.001-1 (default 0.2).'),
  flip: param(boolean, false, 'Mirror left and right (imaginary naming).'),
  flop: param(boolean, false, 'Mirror top and bottom (imaginary naming).'),
  nocrop: param(boolean, false, 'resize: crop when given and false; enlarge: do not crop when true.'),
  noprofile: param(boolean, false, 'Drop the ICC profile from the output.'),
  // Not imaginary's (bimg writes TIFF however libvips defaults): TIFF output is lossless unless this asks for JPEG.
  tiffcompression: param(oneOf(tiffCompressions), 'deflate' as const, 'TIFF output compression: deflate (default, lossless), lzw (lossless), jpeg (lossy, uses quality) or none.'),
  norotation: param(boolean, false, 'Do not apply the EXIF orientation.'),
  noreplicate: param(boolean, false, 'Watermark: draw the text once instead of tiling it.'),
  force: param(boolean, false, 'Resize to exactly width x height, ignoring the aspect ratio.'),
  embed: param(boolean, false, 'Fit inside width x height and pad to exactly that size.'),
  stripmeta: param(boolean, false, 'Drop all metadata (EXIF, XMP, ICC) from the output.'),
  interlace: param(boolean, false, 'Progressive JPEG or interlaced PNG/GIF.'),
  palette: param(boolean, false, 'Quantise PNG output to an 8-bit palette.'),
  // Every line can be as wide as the text box, so lines multiply the pixels a render takes before its size is known.
  text: param(text(1024, 16), '', 'Watermark text: at most 1024 characters and 16 lines.'),
  font: param(font(128, 512), '', 'Watermark font, a Pango description such as "sans bold 12" (size at most 512).'),
  image: param(text(), '', 'watermarkimage: URL of the image to overlay (fetched only when remote sources are enabled).'),
  type: param(
    oneOf([...outputTypes, 'auto'] as const, { jpg: 'jpeg', tif: 'tiff' }),
    '' as const,
    'Output format: jpeg, png, webp, avif, gif, tiff, or auto (negotiated from Accept). Default: the input format.',
  ),
  color: param(rgb, undefined, 'Watermark text colour "R,G,B".'),
  background: param(rgb, undefined, 'Background colour "R,G,B": flattens transparency, and pads when extend=background.'),
  colorspace: param(oneOf(['srgb', 'bw'] as const, { 'b-w': 'bw' }), 'srgb' as const, 'Output colour space: srgb (default) or bw.'),
  gravity: param(oneOf(gravities, { center: 'centre' }), 'centre' as const, 'Crop anchor: centre, north, south, east, west, or smart.'),
  extend: param(oneOf(extendModes), 'copy' as const, 'How padding is filled: copy (default), black, white, background, lastpixel, mirror.'),
  aspectratio: param(aspectRatio, undefined, 'Aspect ratio "W:H" used when only one of width or height is given.'),
} as const satisfies ParamSpecs;

type ImaginaryParams = typeof imaginaryParams;

/** Some of imaginary's parameters, for an operation's declaration: `params: { ...pick('factor'), ...commonParams }`. */
export function pick<K extends keyof ImaginaryParams>(...names: K[]): Pick<ImaginaryParams, K> {
  return Object.fromEntries(names.map((name) => [name, imaginaryParams[name]])) as Pick<ImaginaryParams, K>;
}

/** What the last step's encoder reads: every operation that writes an image may take these. */
export const outputParams = pick('type', 'quality', 'compression', 'interlace', 'palette', 'speed', 'stripmeta', 'noprofile', 'background', 'tiffcompression');
export type OutputOptions = OptionsOf<typeof outputParams>;

/**
 * What every imaginary endpoint but /info and /autorotate honours besides its own parameters: they all pass through
 * bimg's options (`/flip?width=100` also resizes, `sigma` blurs anywhere). Anything else is ignored and named.
 */
export const commonParams = {
  ...pick('width', 'height', 'gravity'),
  ...outputParams,
  ...pick('norotation', 'rotate', 'flip', 'flop', 'force', 'embed', 'extend', 'colorspace', 'sigma', 'minampl', 'aspectratio'),
};
export type CommonOptions = OptionsOf<typeof commonParams>;

/** The text watermark's parameters: /watermark declares them, and the shared resizer draws the text. */
export const textParams = pick('text', 'font', 'color', 'opacity', 'margin', 'dpi', 'textwidth', 'noreplicate');
export type TextOptions = OptionsOf<typeof textParams>;

/** The encoder's settings in any step's options, defaults filling what the operation does not declare. */
export function outputOptionsOf(options: Readonly<Record<string, unknown>>): OutputOptions {
  const picked: Record<string, unknown> = { defined: new Set() };
  for (const [name, spec] of Object.entries(outputParams)) picked[name] = Object.hasOwn(options, name) ? options[name] : spec.default;
  return picked as OutputOptions;
}

/**
 * Check every imaginary parameter in `raw` that `own` does not declare, as imaginary does on every image route, and
 * return the names given that `own` does not use, known or not: they are ignored, and the response names them.
 */
export function checkKnownParams(raw: Readonly<Record<string, unknown>>, own: ParamSpecs, source: Source): string[] {
  const foreign = Object.keys(raw).filter((name) => !Object.hasOwn(own, name));
  const known = Object.fromEntries(foreign.filter((name) => Object.hasOwn(imaginaryParams, name)).map((name) => [name, imaginaryParams[name as keyof ImaginaryParams]]));
  parseParams(known, raw, source);
  return foreign;
}
