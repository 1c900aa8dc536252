/** The imaginary-compatible endpoints: output sizes clients rely on, pixels against references, headers. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { decode, mapPixels, meanColour, photo, psnr, quadrants, type Raw } from '../../testkit/images.js';
import { postFile, postRaw, testApp } from '../../testkit/http.js';

let app: FastifyInstance;
let source: Buffer; // 640x400 PNG photo
let sourceRaw: Raw;
before(async () => {
  app = await testApp();
  source = await photo(640, 400, 'png');
  sourceRaw = await decode(source);
});
after(() => app.close());

async function call(path: string, input = source, contentType = 'image/png') {
  const response = await postRaw(app, path, input, contentType);
  assert.equal(response.statusCode, 200, `${path}: ${response.body}`);
  const meta = await sharp(response.rawPayload).metadata();
  assert.equal(response.headers['image-width'], String(meta.width), 'Image-Width matches the body');
  assert.equal(response.headers['image-height'], String(meta.height), 'Image-Height matches the body');
  return { response, meta, raw: await decode(response.rawPayload) };
}

test('Nextcloud\'s exact preview request returns a 256-bound JPEG with the size headers', async () => {
  const input = await photo(1600, 1200, 'jpeg');
  const url =
    '/pipeline?operations=[{"operation":"autorotate"},{"operation":"fit","params":{"width":256,"height":256,' +
    '"stripmeta":"true","type":"jpeg","norotation":"true","quality":"80"}}]&key=';
  const response = await postRaw(app, encodeURI(url), input, 'image/jpeg');
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['content-type'], 'image/jpeg');
  assert.equal(response.headers['image-width'], '256');
  assert.equal(response.headers['image-height'], '192');
  const output = await decode(response.rawPayload);
  const reference = await decode(await sharp(input).resize(256, 192, { fit: 'fill' }).png().toBuffer());
  assert.ok(psnr(output, reference) > 30, 'the thumbnail shows the same picture');
});

test('Nextcloud flow on a sideways phone photo: autorotate then fit gives an upright portrait', async () => {
  const upright = await quadrants(300, 400);
  const sideways = await sharp(upright).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
  const ops = JSON.stringify([{ operation: 'autorotate' }, { operation: 'fit', params: { width: 256, height: 256, type: 'jpeg', norotation: 'true' } }]);
  const { raw } = await call(`/pipeline?operations=${encodeURIComponent(ops)}`, sideways, 'image/jpeg');
  assert.deepEqual([raw.width, raw.height], [192, 256]);
  const [r, g, b] = meanColour(raw, 10, 10, 40, 40);
  assert.ok(r! > 180 && g! < 90 && b! < 90, `top-left should be red, got ${r},${g},${b}`);
});

test('resize pads to the box (extend copy) and keeps aspect with one side', async () => {
  assert.deepEqual([(await call('/resize?width=300&height=300')).meta.width, (await call('/resize?width=300&height=300')).meta.height], [300, 300]);
  const one = await call('/resize?width=320');
  assert.deepEqual([one.meta.width, one.meta.height], [320, 200]);
  const reference = await decode(await sharp(source).resize(320, 200).png().toBuffer());
  assert.ok(psnr(one.raw, reference) > 35);
  const big = await call('/resize?width=3000');
  assert.deepEqual([big.meta.width, big.meta.height], [640, 400], 'never enlarged');
  assert.equal(big.meta.format, 'png', 'keeps the input format');
});

test('fit keeps the aspect ratio inside the box', async () => {
  const { meta } = await call('/fit?width=256&height=256');
  assert.deepEqual([meta.width, meta.height], [256, 160]);
});

test('enlarge covers and crops to exactly the box', async () => {
  const { meta } = await call('/enlarge?width=1000&height=1000');
  assert.deepEqual([meta.width, meta.height], [1000, 1000]);
});

test('extract copies exactly the asked area', async () => {
  const { raw } = await call('/extract?top=10&left=20&areawidth=100&areaheight=50');
  assert.equal(psnr(raw, mapPixels(sourceRaw, 100, 50, (x, y) => [x + 20, y + 10])), Infinity);
});

test('crop: both sides scale and cut; one side cuts a strip at full height', async () => {
  const both = await call('/crop?width=200&height=200');
  assert.deepEqual([both.meta.width, both.meta.height], [200, 200]);
  const strip = await call('/crop?width=100');
  assert.deepEqual([strip.meta.width, strip.meta.height], [100, 400]);
  assert.equal(psnr(strip.raw, mapPixels(sourceRaw, 100, 400, (x, y) => [x + 270, y])), Infinity);
  const west = await call('/crop?width=100&gravity=west');
  assert.equal(psnr(west.raw, mapPixels(sourceRaw, 100, 400, (x, y) => [x, y])), Infinity);
});

test('smartcrop returns the asked size', async () => {
  const { meta } = await call('/smartcrop?width=120&height=120');
  assert.deepEqual([meta.width, meta.height], [120, 120]);
});

test('rotate turns clockwise by multiples of 90, rounding down', async () => {
  const { raw } = await call('/rotate?rotate=90');
  assert.equal(psnr(raw, mapPixels(sourceRaw, 400, 640, (x, y) => [y, 399 - x])), Infinity);
  const half = await call('/rotate?rotate=200');
  assert.equal(psnr(half.raw, mapPixels(sourceRaw, 640, 400, (x, y) => [639 - x, 399 - y])), Infinity);
});

test('flip mirrors left-right and flop mirrors top-bottom, as in imaginary', async () => {
  assert.equal(psnr((await call('/flip')).raw, mapPixels(sourceRaw, 640, 400, (x, y) => [639 - x, y])), Infinity);
  assert.equal(psnr((await call('/flop')).raw, mapPixels(sourceRaw, 640, 400, (x, y) => [x, 399 - y])), Infinity);
});

test('thumbnail stretches to exactly the box', async () => {
  const { meta } = await call('/thumbnail?width=100&height=100');
  assert.deepEqual([meta.width, meta.height], [100, 100]);
});

test('zoom repeats pixels factor+1 times', async () => {
  const { raw } = await call('/zoom?factor=1');
  assert.equal(psnr(raw, mapPixels(sourceRaw, 1280, 800, (x, y) => [x >> 1, y >> 1])), Infinity);
});

test('convert writes each format and keeps the picture', async () => {
  for (const type of ['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff'] as const) {
    const { response, meta, raw } = await call(`/convert?type=${type}`);
    assert.equal(meta.format === 'heif' ? 'avif' : meta.format, type);
    assert.equal(response.headers['content-type'], `image/${type}`);
    // PNG and TIFF (deflate) are lossless; GIF is quantised to 256 colours.
    const minimum = type === 'png' || type === 'tiff' ? Infinity : type === 'gif' ? 20 : 30;
    assert.ok(psnr(raw.channels === 4 ? await decode(await sharp(response.rawPayload).removeAlpha().png().toBuffer()) : raw, sourceRaw) >= minimum, type);
  }
});

test('type=auto negotiates AVIF, then WebP, from Accept and says Vary: Accept', async () => {
  const avif = await postRaw(app, '/convert?type=auto', source, 'image/png', { accept: 'image/avif,image/webp,*/*' });
  assert.equal(avif.headers['content-type'], 'image/avif');
  assert.equal(avif.headers.vary, 'Accept');
  const webp = await postRaw(app, '/resize?width=100&type=auto', source, 'image/png', { accept: 'image/webp,*/*;q=0.8' });
  assert.equal(webp.headers['content-type'], 'image/webp');
  const plain = await postRaw(app, '/resize?width=100&type=auto', source, 'image/png', { accept: '*/*' });
  assert.equal(plain.headers['content-type'], 'image/png', 'a wildcard keeps the input family');
  const none = await postRaw(app, '/resize?width=100', source, 'image/png', { accept: 'image/webp' });
  assert.equal(none.headers.vary, undefined);
});

test('blur softens: the result is close to a Gaussian reference and far from the input', async () => {
  const { raw } = await call('/blur?sigma=3');
  const reference = await decode(await sharp(source).blur(3).png().toBuffer());
  assert.ok(psnr(raw, reference) > 45);
  assert.ok(psnr(raw, sourceRaw) < 38, 'visibly different from the input');
});

test('watermark draws visible text over the image', async () => {
  const plain = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#000000' } }).png().toBuffer();
  const { raw } = await call('/watermark?text=pixelpress&opacity=1&color=255,255,255&font=sans%2020', plain);
  const [r] = meanColour(raw, 0, 0, 400, 200);
  assert.ok(r! > 2, `some pixels became light (mean ${r})`);
});

test('every endpoint honours the common parameters, like imaginary (flip with width)', async () => {
  const { meta } = await call('/flip?width=100');
  assert.deepEqual([meta.width, meta.height], [100, 63]);
});

test('info answers imaginary\'s metadata JSON', async () => {
  // withMetadata also attaches sRGB's ICC profile, hence hasProfile.
  const oriented = await sharp(await photo(60, 40)).withMetadata({ orientation: 6 }).jpeg().toBuffer();
  const response = await postFile(app, '/info', 'file', oriented);
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.json(), { width: 60, height: 40, type: 'jpeg', space: 'srgb', hasAlpha: false, hasProfile: true, channels: 3, orientation: 6 });
});

test('info says orientation 0 without an EXIF Orientation, as imaginary, even where libvips assumes 1 (TIFF)', async () => {
  const plain = await sharp(await photo(30, 20)).raw().toBuffer();
  for (const format of ['jpeg', 'png', 'webp', 'tiff'] as const) {
    const file = await sharp(plain, { raw: { width: 30, height: 20, channels: 3 } }).toFormat(format).toBuffer();
    const response = await postRaw(app, '/info', file);
    assert.equal(response.json().orientation, 0, format);
  }
  // A TIFF tagged 8 by its own baseline tag, not EXIF: libvips reports 8; imaginary reads EXIF only.
  const tiff = await sharp(plain, { raw: { width: 30, height: 20, channels: 3 } }).withMetadata({ orientation: 8 }).tiff().toBuffer();
  assert.equal((await sharp(tiff).metadata()).orientation, 8, 'the fixture carries the tag');
  assert.equal((await postRaw(app, '/info', tiff)).json().orientation, 0);
  // An EXIF Orientation in a WebP is read from its EXIF block.
  const oriented = await sharp(plain, { raw: { width: 30, height: 20, channels: 3 } }).withMetadata({ orientation: 3 }).webp().toBuffer();
  assert.equal((await postRaw(app, '/info', oriented)).json().orientation, 3);
});

test('pipeline runs steps in order, each on the previous result', async () => {
  const ops = JSON.stringify([
    { operation: 'crop', params: { width: 300, height: 260 } },
    { operation: 'convert', params: { type: 'webp' } },
  ]);
  const { response, meta } = await call(`/pipeline?operations=${encodeURIComponent(ops)}`);
  assert.equal(response.headers['content-type'], 'image/webp');
  assert.deepEqual([meta.width, meta.height], [300, 260]);
  const order = JSON.stringify([{ operation: 'rotate', params: { rotate: 90 } }, { operation: 'extract', params: { areawidth: 10, areaheight: 20 } }]);
  const { raw } = await call(`/pipeline?operations=${encodeURIComponent(order)}`);
  assert.equal(psnr(raw, mapPixels(sourceRaw, 10, 20, (x, y) => [y, 399 - x])), Infinity);
});

test('ignore_failure keeps the image as it was before the failing step', async () => {
  const ops = JSON.stringify([
    { operation: 'resize', params: { width: 100 } },
    { operation: 'extract', params: { areawidth: 5000, areaheight: 10 }, ignore_failure: true },
  ]);
  const { meta } = await call(`/pipeline?operations=${encodeURIComponent(ops)}`);
  assert.deepEqual([meta.width, meta.height], [100, 63]);
});

test('rotate then mirror, in bimg\'s order: a quarter turn with flip is a transpose, with flop the other diagonal', async () => {
  // Worked out by hand: rotating 90 degrees clockwise maps (x, y) to (H-1-y, x); mirroring after it gives these.
  const transpose = mapPixels(sourceRaw, 400, 640, (x, y) => [y, x]);
  const antiTranspose = mapPixels(sourceRaw, 400, 640, (x, y) => [639 - y, 399 - x]);
  assert.equal(psnr((await call('/rotate?rotate=90&flip=true&type=png')).raw, transpose), Infinity, 'rotate 90 + flip');
  assert.equal(psnr((await call('/rotate?rotate=90&flop=true&type=png')).raw, antiTranspose), Infinity, 'rotate 90 + flop');
  assert.equal(psnr((await call('/rotate?rotate=270&flip=true&type=png')).raw, antiTranspose), Infinity, 'rotate 270 + flip');
});
