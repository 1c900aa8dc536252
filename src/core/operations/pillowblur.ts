/** The seed route's operation: exactly Pillow's ImageFilter.BLUR, written as JPEG like the FastAPI original. */
import sharp from 'sharp';
import { ringBlur } from '../ring-blur.js';
import { defineOperation } from './types.js';

export const pillowblur = defineOperation({
  name: 'pillowblur',
  summary: "Pillow's ImageFilter.BLUR, as JPEG (the FastAPI example's POST /)",
  description:
    'Applies the 5x5 ring kernel of Pillow ImageFilter.BLUR (ones on the outer ring, divided by 16) bit for bit, after ' +
    'applying the EXIF orientation, flattening transparency onto white and taking the first frame. Always answers JPEG at ' +
    "quality 75, Pillow's default.",
  params: [],
  required: [],
  outputType: 'jpeg',
  validate() {},
  async apply(image) {
    const { data, info } = await image
      .open(true)
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const blurred = ringBlur(data, info.width, info.height, info.channels);
    const raw = { width: info.width, height: info.height, channels: info.channels };
    return sharp(Buffer.from(blurred.buffer, blurred.byteOffset, blurred.byteLength), { raw });
  },
});
