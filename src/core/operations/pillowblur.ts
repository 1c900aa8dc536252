/** The seed route's operation: exactly Pillow's ImageFilter.BLUR, written as JPEG like the FastAPI original. */
import { ringBlurInPlaceAsync } from '../ring-blur/index.js';
import { defineOperation } from './types.js';

export const pillowblur = defineOperation({
  name: 'pillowblur',
  origin: 'pillow',
  summary: "Pillow's ImageFilter.BLUR, as JPEG (the FastAPI example's POST /)",
  description:
    'Applies the 5x5 ring kernel of Pillow ImageFilter.BLUR (ones on the outer ring, divided by 16) bit for bit, after ' +
    'applying the EXIF orientation, flattening transparency onto white and taking the first frame. Always answers JPEG at ' +
    "quality 75, Pillow's default. Any mode (RGBA, palette, 16-bit, grey, CMYK) is accepted. The FastAPI example's contract: " +
    'multipart field img. Try it out: pick a file and Execute.',
  // The FastAPI example's contract: POST / with the upload in field img, always a JPEG, nothing to set.
  path: '/',
  field: 'img',
  params: {},
  outputType: 'jpeg',
  // Pillow's Image.open() of a GIF or WebP gives its first frame, and filter() and save() work on that one.
  frames: 'first',
  foreign: 'ignore',
  async apply(image, _options, { last, deadline }) {
    // As the last step, blur in the upload's own colour space and tag the JPEG with its profile: no colour transform
    // (about 40 ms of a 4 MP request) and wide-gamut photos stay wide. Pillow drops the profile instead.
    const keepProfile = last && image.profile !== undefined;
    const decoder = image.open(true).flatten({ background: { r: 255, g: 255, b: 255 } });
    if (keepProfile) decoder.keepIccProfile();
    const { data, info } = await deadline.bound(decoder.raw()).toBuffer({ resolveWithObject: true });
    // On the libuv threadpool when the native kernel is built, so the event loop stays free; in place (three saved rows
    // instead of a second 12 MB image): 158 -> 88 ms CPU for the 4 MP seed request on jemalloc, 91 -> 31 on glibc.
    await ringBlurInPlaceAsync(data, info.width, info.height, info.channels);
    return image.withRaw(data, info, keepProfile ? image.profile : undefined);
  },
});
