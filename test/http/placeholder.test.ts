/**
 * POST /placeholder: each placeholder is decoded with its reference library (blurhash's decode, thumbhash's
 * thumbHashToRGBA, sharp for the WebP) and compared by PSNR with the original downscaled by sharp. Placeholders are
 * blurry by design, so the thresholds are low in absolute terms; what makes them a test is the control: each
 * placeholder must also be several dB closer to its own image than to another image.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decode as blurhashDecode, isBlurhashValid } from 'blurhash';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { thumbHashToApproximateAspectRatio, thumbHashToRGBA } from 'thumbhash';
import { assertProblem, postFile, postRaw, testApp } from '../../testkit/http.js';
import { photo, psnr, quadrants, type Raw } from '../../testkit/images.js';

let app: FastifyInstance;
let images: Record<'photo' | 'quadrants', Buffer>;
before(async () => {
  app = await testApp();
  images = { photo: await photo(640, 480), quadrants: await quadrants(640, 480) };
});
after(() => app.close());

/** RGB pixels resized to exactly width x height by sharp: the reference side, or a decoded placeholder brought to it. */
async function rgbAt(source: Buffer | { rgba: Uint8Array | Uint8ClampedArray; width: number; height: number }, width: number, height: number): Promise<Raw> {
  const input = Buffer.isBuffer(source) ? sharp(source, { autoOrient: true }) : sharp(Buffer.from(source.rgba), { raw: { width: source.width, height: source.height, channels: 4 } });
  const { data, info } = await input.resize(width, height, { fit: 'fill', kernel: 'linear' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

async function placeholderJson(query: string, image: Buffer): Promise<{ type: string; width: number; height: number; hash: string }> {
  const response = await postRaw(app, `/placeholder?${query}`, image);
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
  return response.json();
}

/** PSNR of a decoded placeholder against each image downscaled to 8x6: what a placeholder can convey, a few blobs of colour. */
async function scores(decoded: { rgba: Uint8Array | Uint8ClampedArray; width: number; height: number }): Promise<Record<keyof typeof images, number>> {
  const at = await rgbAt(decoded, 8, 6);
  return { photo: psnr(at, await rgbAt(images.photo, 8, 6)), quadrants: psnr(at, await rgbAt(images.quadrants, 8, 6)) };
}

const other = { photo: 'quadrants', quadrants: 'photo' } as const;

test('blurhash: a valid hash with the dimensions; decoded, it matches the downscaled original (> 11 dB, 3 dB over another image)', async () => {
  for (const name of ['photo', 'quadrants'] as const) {
    const body = await placeholderJson('type=blurhash', images[name]);
    assert.deepEqual({ type: body.type, width: body.width, height: body.height }, { type: 'blurhash', width: 640, height: 480 });
    assert.equal(isBlurhashValid(body.hash).result, true);
    assert.equal(body.hash.length, 4 + 2 * 4 * 3, '4x3 components by default');
    const score = await scores({ rgba: blurhashDecode(body.hash, 64, 48), width: 64, height: 48 });
    // Measured 15.4 dB (photo) and 12.3 dB (quadrants: a 4x3 cosine basis rounds their hard edges); others at most 10.3.
    assert.ok(score[name] > 11, `${name}: ${score[name].toFixed(1)} dB`);
    assert.ok(score[name] > score[other[name]] + 3, `${name} is closer to itself: ${JSON.stringify(score)}`);
  }
  const detailed = await placeholderJson('type=blurhash&components=9x8', images.photo);
  assert.equal(detailed.hash.length, 4 + 2 * 9 * 8);
});

test('thumbhash: base64 of a ThumbHash with the dimensions; decoded, it matches the downscaled original (> 14 dB, 5 dB over another)', async () => {
  for (const name of ['photo', 'quadrants'] as const) {
    const body = await placeholderJson('type=thumbhash', images[name]);
    assert.deepEqual({ type: body.type, width: body.width, height: body.height }, { type: 'thumbhash', width: 640, height: 480 });
    const hash = Buffer.from(body.hash, 'base64');
    assert.ok(hash.length >= 5 && hash.length <= 25, `${hash.length} bytes`);
    assert.ok(Math.abs(thumbHashToApproximateAspectRatio(hash) - 4 / 3) < 0.1);
    const { w, h, rgba } = thumbHashToRGBA(hash);
    const score = await scores({ rgba, width: w, height: h });
    // Measured 17.7 dB (photo) and 15.7 dB (quadrants); others at most 8.6.
    assert.ok(score[name] > 14, `${name}: ${score[name].toFixed(1)} dB`);
    assert.ok(score[name] > score[other[name]] + 5, `${name} is closer to itself: ${JSON.stringify(score)}`);
  }
});

test('thumbhash keeps alpha: a half-transparent image decodes transparent on that half', async () => {
  // Left half fully transparent, right half opaque red.
  const pixels = Buffer.alloc(200 * 100 * 4);
  for (let i = 0; i < 200 * 100; i++) if (i % 200 >= 100) pixels.set([200, 30, 30, 255], i * 4);
  const half = await sharp(pixels, { raw: { width: 200, height: 100, channels: 4 } }).png().toBuffer();
  const { w, h, rgba } = thumbHashToRGBA(Buffer.from((await placeholderJson('type=thumbhash', half)).hash, 'base64'));
  const alphaAt = (x: number) => rgba[(Math.floor(h / 2) * w + x) * 4 + 3]!;
  assert.ok(alphaAt(1) < 64, `left edge alpha ${alphaAt(1)}`);
  assert.ok(alphaAt(w - 2) > 192, `right edge alpha ${alphaAt(w - 2)}`);
});

test('lqip: a WebP of at most size pixels that matches the original downscaled to it (> 20 dB, 10 dB over another)', async () => {
  for (const name of ['photo', 'quadrants'] as const) {
    const response = await postFile(app, '/placeholder?type=lqip', 'file', images[name]);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers['content-type'], 'image/webp');
    assert.ok(response.rawPayload.length < 1000, `${response.rawPayload.length} bytes`);
    const meta = await sharp(response.rawPayload).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 32, 24]);
    assert.deepEqual([response.headers['image-width'], response.headers['image-height']], ['32', '24']);
    const got = await rgbAt(response.rawPayload, 32, 24);
    const own = psnr(got, await rgbAt(images[name], 32, 24));
    const another = psnr(got, await rgbAt(images[other[name]], 32, 24));
    // Measured 22.1 dB (photo) and 24.6 dB (quadrants) at quality 50, 32x24 with 4:2:0 chroma; others about 6 dB.
    assert.ok(own > 20, `${name}: ${own.toFixed(1)} dB`);
    assert.ok(own > another + 10, `${name}: ${own.toFixed(1)} vs ${another.toFixed(1)} dB`);
  }
  const json = await postRaw(app, '/placeholder?type=lqip&format=json&size=16', images.photo);
  const body = json.json();
  assert.deepEqual({ ...body, dataUri: undefined }, { type: 'lqip', width: 640, height: 480, placeholderWidth: 16, placeholderHeight: 12, dataUri: undefined });
  const [, mime, base64] = /^data:(image\/webp);base64,([A-Za-z0-9+/=]+)$/.exec(body.dataUri)!;
  assert.equal(mime, 'image/webp');
  const fromUri = await sharp(Buffer.from(base64!, 'base64')).metadata();
  assert.deepEqual([fromUri.format, fromUri.width, fromUri.height], ['webp', 16, 12]);
  const raw = await postRaw(app, '/placeholder?type=lqip&size=16', images.photo);
  assert.deepEqual(Buffer.from(base64!, 'base64'), raw.rawPayload, 'the data URI holds the same WebP');
});

test('the EXIF orientation is applied: dimensions as displayed, placeholder upright', async () => {
  // Stored 480x640 turned a quarter anticlockwise; orientation 6 shows it as the 640x480 original.
  const stored = await sharp(images.quadrants).rotate(-90).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  const body = await placeholderJson('type=thumbhash', stored);
  assert.deepEqual([body.width, body.height], [640, 480]);
  const { w, h, rgba } = thumbHashToRGBA(Buffer.from(body.hash, 'base64'));
  const score = await scores({ rgba, width: w, height: h });
  assert.ok(score.quadrants > 14, `upright: ${score.quadrants.toFixed(1)} dB`);
  const blurhash = await placeholderJson('type=blurhash', stored);
  assert.deepEqual([blurhash.width, blurhash.height], [640, 480]);
});

test('parameters: type required; hostile values are 400s; ones the type does not use are named', async () => {
  assertProblem(await postRaw(app, '/placeholder', images.photo), 400, 'PP_MISSING_PARAM', 'Missing required param: type (blurhash, thumbhash or lqip)');
  assertProblem(await postRaw(app, '/placeholder?type=jpeg', images.photo), 400, 'PP_INVALID_PARAM', /for type/);
  for (const components of ['0x3', '10x1', '4x', 'x', '4x3x2', '-4x3', 'NaN', '1e9x1', '4%003']) {
    assertProblem(await postRaw(app, `/placeholder?type=blurhash&components=${components}`, images.photo), 400, 'PP_INVALID_PARAM', /components/);
  }
  for (const size of ['65', '1e9', 'NaN', '-100000', 'abc']) {
    assertProblem(await postRaw(app, `/placeholder?type=lqip&size=${size}`, images.photo), 400, 'PP_INVALID_PARAM', /size/);
  }
  assertProblem(await postRaw(app, '/placeholder?type=lqip&size=0', images.photo), 400, 'PP_INVALID_PARAM', /size/);
  assertProblem(await postRaw(app, '/placeholder?type=lqip&quality=101', images.photo), 400, 'PP_INVALID_PARAM', /quality/);
  assertProblem(await postRaw(app, '/placeholder?type=lqip&format=avif', images.photo), 400, 'PP_INVALID_PARAM', /format/);
  // imaginary's parameters are checked on every image route, this one too.
  assertProblem(await postRaw(app, '/placeholder?type=blurhash&width=abc', images.photo), 400, 'PP_INVALID_PARAM', /width/);
  const ignored = await postRaw(app, '/placeholder?type=blurhash&size=8&width=10&zzz=1', images.photo);
  assert.equal(ignored.statusCode, 200, ignored.body);
  assert.equal(ignored.headers['pp-ignored-params'], 'size, width, zzz');
  assertProblem(await postRaw(app, '/placeholder?type=blurhash', Buffer.from('not an image')), 415, 'PP_UNSUPPORTED_MEDIA', /.+/);
  const get = await app.inject({ method: 'GET', url: '/placeholder?type=blurhash' });
  assert.equal(get.statusCode, 405);
});

test('an ETag per placeholder, and If-None-Match answered 304', async () => {
  const first = await postRaw(app, '/placeholder?type=blurhash', images.photo);
  const tag = first.headers.etag as string;
  assert.match(tag, /^"[A-Za-z0-9_-]{43}"$/);
  assert.notEqual((await postRaw(app, '/placeholder?type=thumbhash', images.photo)).headers.etag, tag);
  assert.notEqual((await postRaw(app, '/placeholder?type=blurhash&components=4x4', images.photo)).headers.etag, tag);
  const again = await postRaw(app, '/placeholder?type=blurhash', images.photo, 'image/jpeg', { 'if-none-match': tag });
  assert.equal(again.statusCode, 304);
  assert.equal(again.rawPayload.length, 0);
});
