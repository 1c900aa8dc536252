/**
 * trim, imgproxy's: a photo pasted on a noisy flat border comes back exactly, cut at the box computed here from where
 * the pixels differ from the border colour by more than the threshold.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr, type Raw } from '../../testkit/images.js';
import { assertRefusals } from '../../testkit/operations.js';
import { prng } from '../../testkit/prng.js';

let app: FastifyInstance;
let framed: Raw;
let input: Buffer;
let content: Raw;
const border = [235, 240, 225];
before(async () => {
  app = await testApp();
  content = await decode(await photo(50, 30, 'png'));
  // 80 x 56, the border noisy by up to 5 levels (under the default threshold of 10), the photo at (13, 9).
  const random = prng(3);
  const data = new Uint8Array(80 * 56 * 3);
  for (let p = 0; p < 80 * 56; p++) for (let c = 0; c < 3; c++) data[p * 3 + c] = border[c]! + Math.round(random() * 10 - 5);
  for (let y = 0; y < 30; y++) data.set(content.data.subarray(y * 150, y * 150 + 150), ((y + 9) * 80 + 13) * 3);
  framed = { data, width: 80, height: 56, channels: 3 };
  input = await sharp(data, { raw: { width: 80, height: 56, channels: 3 } }).png().toBuffer();
});
after(() => app.close());

/** The smallest box holding every pixel that differs from `colour` by more than `threshold` in some channel. */
function box(image: Raw, colour: number[], threshold: number): { left: number; top: number; width: number; height: number } {
  let [left, top, right, bottom] = [image.width, image.height, -1, -1];
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const differs = [0, 1, 2].some((c) => Math.abs(image.data[(y * image.width + x) * image.channels + c]! - colour[c]!) > threshold);
      if (differs) [left, top, right, bottom] = [Math.min(left, x), Math.min(top, y), Math.max(right, x), Math.max(bottom, y)];
    }
  }
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

test('the noisy border is cut away: what is left is the pasted photo, pixel for pixel', async () => {
  const response = await postRaw(app, '/trim?type=png', input, 'image/png');
  assert.equal(response.statusCode, 200, response.body);
  const got = await decode(response.rawPayload);
  const topLeft = [...framed.data.subarray(0, 3)];
  assert.deepEqual(box(framed, topLeft, 10), { left: 13, top: 9, width: 50, height: 30 }, 'the definition finds the photo');
  assert.deepEqual([got.width, got.height], [50, 30]);
  // Measured Infinity: a crop.
  assert.equal(psnr(got, content), Infinity);
});

test('color names the border when the top-left pixel is not it; threshold widens what counts as border', async () => {
  // A 4 x 4 red patch in the top-left corner: by default it is "the border colour", so nothing is trimmed.
  const patched = await sharp(input).composite([{ input: { create: { width: 4, height: 4, channels: 3, background: '#ff0000' } }, left: 0, top: 0 }]).png().toBuffer();
  const byDefault = await postRaw(app, '/trim?type=png', patched, 'image/png');
  assert.equal(byDefault.headers['image-width'], '80');
  const named = await decode((await postRaw(app, `/trim?color=${border.join(',')}&type=png`, patched, 'image/png')).rawPayload);
  const expected = box(await decode(patched), border, 10);
  assert.deepEqual([named.width, named.height], [expected.width, expected.height], 'from the patch to the photo\'s far corner');
  // With threshold 255 everything is border: libvips then leaves the image whole rather than empty.
  const all = await postRaw(app, '/trim?threshold=255&type=png', input, 'image/png');
  assert.equal(all.statusCode, 200, all.body);
});

test('equal_hor and equal_ver cut the smaller margin from both sides, keeping the photo centred', async () => {
  // The photo sits at (13, 9) in 80 x 56: margins 13 left, 17 right, 9 top, 17 bottom.
  const original = await decode(input);
  for (const [query, left, top, width, height] of [['equal_hor=true', 13, 9, 54, 30], ['equal_ver=1', 13, 9, 50, 38], ['equal_hor=true&equal_ver=true', 13, 9, 54, 38]] as const) {
    const response = await postRaw(app, `/trim?${query}&type=png`, input, 'image/png');
    assert.equal(response.statusCode, 200, response.body);
    const got = await decode(response.rawPayload);
    assert.deepEqual([got.width, got.height], [width, height], query);
    const expected = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) expected.set(original.data.subarray(((y + top) * 80 + left) * 3, ((y + top) * 80 + left + width) * 3), y * width * 3);
    assert.equal(psnr(got, { data: expected, width, height, channels: 3 }), Infinity, query);
  }
});

test('as a pipeline step it gives the same pixels, and it is documented', async () => {
  const route = await postRaw(app, '/trim?threshold=20&type=png', input, 'image/png');
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'trim', params: { threshold: 20 } }, { operation: 'convert', params: { type: 'png' } }]));
  const pipeline = await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png');
  assert.equal(pipeline.statusCode, 200, pipeline.body);
  assert.equal(psnr(await decode(pipeline.rawPayload), await decode(route.rawPayload)), Infinity);
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post?: { description?: string } }> };
  assert.match(document.paths['/trim']?.post?.description ?? '', /imgproxy/);
});

test('an image under 3x3 pixels, too small for libvips to trim, comes back as it was', async () => {
  const tiny = await sharp({ create: { width: 2, height: 1, channels: 3, background: '#123456' } }).png().toBuffer();
  const response = await postRaw(app, '/trim?type=png', tiny, 'image/png');
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(psnr(await decode(response.rawPayload), await decode(tiny)), Infinity);
});

test('hostile values are 400s', async () => {
  await assertRefusals(app, 'trim', input, { invalid: ['threshold=-1', 'threshold=256', 'threshold=NaN', 'threshold=1e309', 'color=256,0,0', 'color=1,2', 'color=-1,0,0', 'equal_hor=yes', 'equal_ver=2'], step: { threshold: -1e9 }, names: /threshold|color|equal/, stepNames: /threshold/ });
});
