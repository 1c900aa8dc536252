/**
 * imaginary /watermarkimage (pipeline name watermarkImage, camelCase as imaginary requires): overlay the image found at
 * the URL `image` at (left, top), its alpha scaled by opacity. The fetch is not done here: whoever runs the pipeline
 * fetches it first (the HTTP server through its SSRF guard) and hands the bytes in `context.remote`.
 */
import type { OutputInfo } from 'sharp';
import { ImageError } from '../errors.js';
import { commonParams, imaginaryParams } from '../imaginary-params.js';
import { WorkingImage } from '../image.js';
import { param } from '../options.js';
import { text } from '../params.js';
import { remoteImage } from '../remote-images.js';
import { processImage } from '../transform.js';
import { defineOperation, type OperationContext } from './types.js';

/** Any string up to 2 KiB; check() below refuses what is not an http(s) URL with its own code, as the fetch would. */
const plainUrl = text(2048);
const imageUrl = { ...plainUrl, schema: { ...plainUrl.schema, format: 'uri', example: 'https://images.example.com/logo.png' } };

/** A fetched overlay is never an SVG: rendering one cannot be interrupted, and its references would need guarding too. */
const overlayPolicy = { lenient: false, svg: false } as const;

export const watermarkImage = defineOperation({
  name: 'watermarkImage',
  path: '/watermarkimage',
  origin: 'imaginary',
  summary: 'Overlay an image fetched from a URL',
  description:
    'Fetches the image at `image` (remote sources must be enabled: PP_ENABLE_URL_SOURCE and PP_ALLOWED_ORIGINS, with the same guard as ?url=) ' +
    'and draws it over this one at (left, top), cut at the edges, its alpha multiplied by opacity (0 or absent: 1). ' +
    'The common parameters (width, height, ...) apply to this image first. An SVG overlay is refused.',
  params: {
    image: param(imageUrl, '', 'URL (http or https) of the image to overlay.'),
    top: { ...imaginaryParams.top, description: 'Top offset of the overlay in pixels.' },
    left: { ...imaginaryParams.left, description: 'Left offset of the overlay in pixels.' },
    opacity: { ...imaginaryParams.opacity, description: 'Overlay opacity 0-1; 0 or absent means 1, as in imaginary.' },
    ...commonParams,
  },
  required: ['image'],
  check(o) {
    let url: URL;
    try {
      url = new URL(o.image);
    } catch {
      throw new ImageError('PP_REMOTE_URL_INVALID', `Expected an absolute http or https URL for image but received ${JSON.stringify(o.image)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ImageError('PP_REMOTE_URL_INVALID', `Only http: and https: URLs are fetched, not ${url.protocol} (image)`);
    }
  },
  remoteImages: (o) => [o.image],
  async apply(image, o, context) {
    const { deadline } = context;
    const base = await deadline.bound(await processImage(image, o, {}, context)).raw().toBuffer({ resolveWithObject: true });
    const below = image.withRaw(base.data, base.info);
    const overlay = await visibleOverlay(remoteImage(context.remote, o.image), base.info, o, context);
    if (!overlay) return below;
    return below.open(false).composite([{ input: overlay.data, raw: { width: overlay.width, height: overlay.height, channels: 4 }, left: o.left, top: o.top }]);
  },
});

/**
 * The overlay's RGBA pixels that fall on the image, alpha already scaled by opacity; undefined when none do. Decoded
 * under the same limits as an upload (a fetched image is as untrusted), but never as SVG.
 */
async function visibleOverlay(data: Buffer, below: OutputInfo, o: { left: number; top: number; opacity: number }, context: OperationContext) {
  const width = below.width - o.left;
  const height = below.height - o.top;
  if (width <= 0 || height <= 0) return undefined;
  const decoded = await WorkingImage.fromEncoded(data, context.limits, overlayPolicy, { deadline: context.deadline });
  const size = decoded.size(true);
  const visible = { width: Math.min(width, size.width), height: Math.min(height, size.height) };
  const pipeline = decoded.open(true).toColourspace('srgb').ensureAlpha();
  if (visible.width < size.width || visible.height < size.height) pipeline.extract({ left: 0, top: 0, ...visible });
  const raw = await context.deadline.bound(pipeline).raw({ depth: 'uchar' }).toBuffer();
  // imaginary: an opacity of 0 (not given) draws the overlay as it is.
  const opacity = o.opacity > 0 ? o.opacity : 1;
  if (opacity < 1) for (let i = 3; i < raw.length; i += 4) raw[i] = Math.round(raw[i]! * opacity);
  return { data: raw, ...visible };
}
