/**
 * What an output keeps of its upload besides the picture, where the output format can hold it: grey samples stay
 * grey (JPEG, PNG, TIFF), 16-bit samples stay 16-bit (PNG, TIFF), and pixels left in a colour profile that sharp
 * cannot see (raw pixels from the HEIC decoder or a kernel of ours) get that profile back, so they are converted or
 * tagged like any upload. sharp alone writes every output as 8-bit sRGB.
 */
import sharp, { type Sharp } from 'sharp';
import type { SourceTraits } from './image.js';
import type { OutputType } from './params.js';
import { eachRow, type Between } from './raster.js';
import { pngWithIcc } from './png-icc.js';

const greyFormats: ReadonlySet<OutputType> = new Set(['jpeg', 'png', 'tiff']);
const sixteenBitFormats: ReadonlySet<OutputType> = new Set(['png', 'tiff']);

/**
 * Whether every pixel has R, G and B within one level of each other. An operation may have coloured a grey upload
 * (tint, duotone, a coloured background or watermark): then the output stays in colour. Row by row between turns of
 * the event loop (a 50 MP grey image is 150 M samples), stopping at the first coloured pixel.
 */
async function isGrey(samples: Uint8Array | Uint16Array, width: number, height: number, channels: number, tolerance: number, between: Between): Promise<boolean> {
  if (channels < 3) return true;
  const stride = width * channels;
  let grey = true;
  await eachRow(between, (y) => {
    for (let i = y * stride, end = i + stride; grey && i < end; i += channels) {
      const r = samples[i]!;
      if (Math.abs(r - samples[i + 1]!) > tolerance || Math.abs(r - samples[i + 2]!) > tolerance) grey = false;
    }
  }, height);
  return grey;
}

/**
 * The pipeline to encode as `type`, with the upload's grey and 16-bit samples kept where `type` can hold them.
 * `bound` puts a new sharp pipeline under the request's deadline; `between` checks it between slices of our own work.
 */
export async function keepSamples(pipeline: Sharp, type: OutputType, traits: SourceTraits, bound: (next: Sharp) => Sharp, between: Between): Promise<Sharp> {
  const wide = traits.sixteenBit && sixteenBitFormats.has(type);
  const grey = traits.grey && greyFormats.has(type);
  if (!grey) return wide ? pipeline.toColourspace('rgb16') : pipeline;
  // Whether the result is still grey is only known from its pixels: run the steps once, to raw, and look.
  const { data, info } = await pipeline.toColourspace(wide ? 'rgb16' : 'srgb').raw({ depth: wide ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  const samples = wide ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data;
  const stillGrey = await isGrey(samples, info.width, info.height, info.channels, wide ? 257 : 1, between);
  const next = bound(sharp(samples, { raw: { width: info.width, height: info.height, channels: info.channels } }));
  if (stillGrey) return next.toColourspace(wide ? 'grey16' : 'b-w');
  return wide ? next.toColourspace('rgb16') : next;
}

/**
 * Raw pixels in `profile`'s colour space, as an image sharp knows the profile of: a PNG stored without compression
 * with the profile in its iCCP chunk. From there the output converts to sRGB, or keeps the profile, as an upload does.
 */
export async function withKnownProfile(pipeline: Sharp, profile: Buffer, bound: (next: Sharp) => Sharp): Promise<Sharp> {
  const png = await pipeline.png({ compressionLevel: 0, adaptiveFiltering: false }).toBuffer();
  return bound(sharp(pngWithIcc(png, profile)));
}
