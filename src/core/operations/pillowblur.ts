/** The seed route's operation: exactly Pillow's ImageFilter.BLUR, written as JPEG like the FastAPI original. */
import sharp from 'sharp';
import { ringBlurAsync } from '../ring-blur.js';
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
    // On the libuv threadpool when the native kernel is built, so the event loop stays free.
    const blurred = await ringBlurAsync(data, info.width, info.height, info.channels);
    const raw = { width: info.width, height: info.height, channels: info.channels };
    return sharp(Buffer.from(blurred.buffer, blurred.byteOffset, blurred.byteLength), { raw });
  },
});
