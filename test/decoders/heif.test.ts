/**
 * HEIC input: pixels against Debian's heif-convert (an independent libheif/libde265 build), irot/imir, alpha, the
 * embedded thumbnail, and hostile headers. Images are made in the test by heif-enc (x265) from generated PNGs.
 *
 * Thresholds: both sides decode the same HEVC bitstream with libde265, so differences come only from the YUV->RGB
 * conversion of two libheif versions (1.15 vs 1.23): PSNR >= 40 dB. heif-enc writes an image with a side under 64
 * pixels as a grid item (one padded tile, cropped by the grid's size): the grid test below uses that. Thumbnails are compared with the full image
 * scaled down (a different encode of a different size): >= 28 dB.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { closeDecoderPool, decodeToRaw, probeContainer, sniffContainer } from '../../src/core/decoders/index.js';
import { isImageError } from '../../src/core/errors.js';
import { defaultLimits, type Limits } from '../../src/core/limits.js';
import { photo, psnr, type Raw } from '../../testkit/images.js';
import { addHeifProperty, heifConvert, heifEncode, missingTools, oneByteBox, toRaw, withIspe } from './tools.js';

const skip = missingTools('heifEnc', 'heifConvert');
const limits: Limits = { ...defaultLimits };
let heic: Buffer;
let reference: Raw;

before(async () => {
  if (skip) return;
  // heif-enc is slow (x265 on 2 cores): one moderate photo serves most tests.
  heic = await heifEncode(await photo(480, 320, 'png'), { thumb: 160 });
  reference = await heifConvert(heic, 3);
});
after(() => closeDecoderPool());

const asRaw = (r: { data: Uint8Array; width: number; height: number; channels: number }): Raw => ({ data: r.data, width: r.width, height: r.height, channels: r.channels });

async function refused(input: Buffer, code: string, detail: RegExp, options: Partial<Parameters<typeof decodeToRaw>[1]> = {}): Promise<void> {
  const started = performance.now();
  await assert.rejects(decodeToRaw(input, { limits, ...options }), (err) => {
    assert.ok(isImageError(err), `expected an ImageError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.detail, detail);
    return true;
  });
  // Within the time limit, with room to spare: nothing hostile may run to the deadline.
  assert.ok(performance.now() - started < limits.processTimeoutSeconds * 1000);
}

test('the header gives size, thumbnails and format before anything is decoded', { skip }, async () => {
  assert.equal(sniffContainer(heic), 'heic');
  const info = await probeContainer(heic, { limits });
  assert.deepEqual(info, { format: 'heic', width: 480, height: 320, pages: 1, hasAlpha: false, thumbnails: [{ width: 160, height: 106 }] });
});

test('the primary image matches heif-convert (PSNR >= 40 dB)', { skip }, async () => {
  const decoded = await decodeToRaw(heic, { limits });
  assert.equal(decoded.source, 'primary');
  assert.deepEqual([decoded.width, decoded.height, decoded.channels], [480, 320, 3]);
  const db = psnr(asRaw(decoded), reference);
  assert.ok(db >= 40, `PSNR ${db.toFixed(1)} dB`);
});

test('a grid image is assembled and cropped as heif-convert does (PSNR >= 40 dB)', { skip }, async () => {
  const grid = await heifEncode(await photo(100, 60, 'png'));
  assert.ok(grid.includes('grid', 0, 'latin1'), 'heif-enc wrote a grid item');
  assert.deepEqual((await probeContainer(grid, { limits }))?.width, 100);
  const decoded = await decodeToRaw(grid, { limits });
  assert.deepEqual([decoded.width, decoded.height], [100, 60]);
  const db = psnr(asRaw(decoded), await heifConvert(grid, 3));
  assert.ok(db >= 40, `PSNR ${db.toFixed(1)} dB`);
});

test('irot and imir are applied as heif-convert applies them (PSNR >= 40 dB)', { skip }, async () => {
  for (const [label, property, size] of [
    ['irot 90', oneByteBox('irot', 1), [320, 480]],
    ['irot 180', oneByteBox('irot', 2), [480, 320]],
    ['irot 270', oneByteBox('irot', 3), [320, 480]],
    ['imir 0', oneByteBox('imir', 0), [480, 320]],
    ['imir 1', oneByteBox('imir', 1), [480, 320]],
  ] as const) {
    const turned = addHeifProperty(await heifEncode(await photo(480, 320, 'png')), property);
    const info = await probeContainer(turned, { limits });
    assert.deepEqual([info?.width, info?.height], size, `${label}: header size`);
    const decoded = await decodeToRaw(turned, { limits });
    assert.deepEqual([decoded.width, decoded.height], size, label);
    const db = psnr(asRaw(decoded), await heifConvert(turned, 3));
    assert.ok(db >= 40, `${label}: PSNR ${db.toFixed(1)} dB`);
    // And it really turned: the unturned decode does not match.
    if (label !== 'irot 90' && label !== 'irot 270') assert.ok(psnr(asRaw(decoded), reference) < 30, `${label} changed the pixels`);
  }
});

test('alpha is decoded as a fourth channel matching heif-convert (PSNR >= 40 dB)', { skip }, async () => {
  const rgb = await photo(200, 120, 'png');
  const circle = Buffer.from('<svg width="200" height="120"><circle cx="100" cy="60" r="50" fill="#fff"/></svg>');
  const png = await sharp(rgb).ensureAlpha().composite([{ input: circle, blend: 'dest-in' }]).png().toBuffer();
  const withAlpha = await heifEncode(png);
  assert.equal((await probeContainer(withAlpha, { limits }))?.hasAlpha, true);
  const decoded = await decodeToRaw(withAlpha, { limits });
  assert.equal(decoded.channels, 4);
  const db = psnr(asRaw(decoded), await heifConvert(withAlpha, 4));
  assert.ok(db >= 40, `PSNR ${db.toFixed(1)} dB`);
  assert.equal(decoded.data[3], 0, 'a corner is transparent');
  assert.equal(decoded.data[(60 * 200 + 100) * 4 + 3], 255, 'the centre is opaque');
});

test('an embedded thumbnail at least as large as the target is used instead of the full image', { skip }, async () => {
  const small = await decodeToRaw(heic, { limits, targetWidth: 150, targetHeight: 100 });
  assert.equal(small.source, 'thumbnail');
  assert.deepEqual([small.width, small.height], [160, 106]);
  const scaled = await toRaw(await sharp(reference.data, { raw: { width: 480, height: 320, channels: 3 } }).resize(160, 106, { fit: 'fill' }).png().toBuffer(), 3);
  const db = psnr(asRaw(small), scaled);
  assert.ok(db >= 28, `thumbnail PSNR ${db.toFixed(1)} dB against the scaled primary`);
  // Nextcloud's square box: the fitted output (160x107) is what the thumbnail must cover.
  assert.equal((await decodeToRaw(heic, { limits, targetWidth: 160, targetHeight: 160 })).source, 'thumbnail');
  // A target larger than the thumbnail needs the full image.
  assert.equal((await decodeToRaw(heic, { limits, targetWidth: 200 })).source, 'primary');
});

test("the image's ICC profile comes with the pixels, unconverted (an iPhone's Display P3)", { skip }, async () => {
  const p3png = await sharp(await photo(64, 48, 'png')).withIccProfile('p3').png().toBuffer();
  const p3 = (await sharp(p3png).metadata()).icc!;
  const decoded = await decodeToRaw(await heifEncode(p3png), { limits });
  assert.ok(decoded.icc, 'a profile');
  assert.deepEqual(Buffer.from(decoded.icc), p3);
  assert.equal((await decodeToRaw(heic, { limits })).icc, undefined, 'none when the file has none');
});

test('hostile HEIF headers are refused with a 4xx code, quickly', { skip }, async () => {
  const plain = await heifEncode(await photo(64, 48, 'png'));
  await refused(withIspe(plain, 100_000, 100_000), 'PP_TOO_MANY_PIXELS', /100000x100000/);
  await refused(plain.subarray(0, Math.floor(plain.length / 2)), 'PP_UNDECODABLE', /HEIF/);
  await refused(plain.subarray(0, 200), 'PP_UNDECODABLE', /HEIF/);
  // A box claiming to be larger than the file.
  const overlong = Buffer.from(plain);
  overlong.writeUInt32BE(0x7fffffff, overlong.indexOf('meta', 0, 'latin1') - 4);
  await refused(overlong, 'PP_UNDECODABLE', /meta box runs past/);
  // The HEVC bitstream replaced by noise: the container is fine, the codec must fail cleanly (or decode noise).
  const noisy = Buffer.from(plain);
  const mdat = noisy.indexOf('mdat', 0, 'latin1');
  for (let i = mdat + 40; i < noisy.length; i++) noisy[i] = (i * 7919) & 0xff;
  const outcome = await decodeToRaw(noisy, { limits }).then(
    (r) => `decoded ${r.width}x${r.height}`,
    (err: unknown) => (isImageError(err) ? err.code : `unexpected ${String(err)}`),
  );
  assert.ok(['PP_UNDECODABLE', 'decoded 64x48'].includes(outcome), outcome);
  // The pool is still healthy afterwards.
  assert.equal((await decodeToRaw(plain, { limits })).width, 64);
});

test('the pixel limit applies to the declared size before decoding', { skip }, async () => {
  await refused(heic, 'PP_TOO_MANY_PIXELS', /480x320/, { limits: { ...limits, maxInputPixels: 100_000 } });
});
