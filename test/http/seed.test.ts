/** POST /: the FastAPI example's contract, checked by pixels against an independent Pillow-BLUR reference. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { decode, meanColour, photo, psnr, quadrants, referenceRingBlur } from '../../testkit/images.js';
import { postFile, postRaw, testApp } from '../../testkit/http.js';

let app: FastifyInstance;
before(async () => {
  app = await testApp();
});
after(() => app.close());

/**
 * Posts `input` and checks the answer two ways against the plain-TypeScript reference blur:
 * within JPEG noise of the reference pixels (PSNR >= 38 dB, the bar), and identical to the reference
 * pushed through the same JPEG encoder at Pillow's quality 75 (so the blur itself is bit-exact).
 */
async function assertBlurredJpeg(input: Buffer, field = 'img'): Promise<number> {
  const response = await postFile(app, '/', field, input);
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['content-type'], 'image/jpeg');
  assert.equal(Number(response.headers['content-length']), response.rawPayload.length);
  assert.equal((await sharp(response.rawPayload).metadata()).format, 'jpeg');
  const output = await decode(response.rawPayload);
  const reference = referenceRingBlur(await decode(input, { flattenWhite: true, autoOrient: true }));
  const score = psnr(output, reference);
  assert.ok(score >= 38, `PSNR ${score.toFixed(2)} dB < 38 dB`);
  const referenceJpeg = await sharp(Buffer.from(reference.data), { raw: { width: reference.width, height: reference.height, channels: reference.channels as 1 | 3 } })
    .jpeg({ quality: 75 })
    .toBuffer();
  assert.equal(psnr(output, await decode(referenceJpeg)), Infinity, 'blur should be bit-exact before JPEG encoding');
  return score;
}

test('a photo posted as img comes back blurred as Pillow would, within JPEG noise', async () => {
  // The helper asserts the pixels: bit-exact blur before encoding, and the JPEG within noise of Pillow's.
  await assertBlurredJpeg(await photo(320, 200));
});

test('the result is really blurred: far from the unblurred input', async () => {
  const input = await photo(320, 200, 'png');
  const response = await postFile(app, '/', 'img', input);
  const output = await decode(response.rawPayload);
  assert.ok(psnr(output, await decode(input)) < 38, 'output should differ from the input by more than JPEG noise');
});

test('PNG, WebP and grey inputs are accepted', async () => {
  await assertBlurredJpeg(await photo(256, 160, 'png'));
  await assertBlurredJpeg(await photo(256, 160, 'webp'));
  await assertBlurredJpeg(await sharp(await photo(256, 160, 'png')).greyscale().png().toBuffer());
});

test('RGBA comes back flattened on white (the FastAPI original answers 500)', async () => {
  const rgba = await sharp({ create: { width: 60, height: 40, channels: 4, background: { r: 200, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
  const response = await postFile(app, '/', 'img', rgba);
  assert.equal(response.statusCode, 200);
  const [r, g, b] = meanColour(await decode(response.rawPayload), 10, 10, 40, 20);
  assert.ok(r! > 245 && g! > 245 && b! > 245, `expected white, got ${r},${g},${b}`);
  await assertBlurredJpeg(await sharp(await photo(256, 160, 'png')).ensureAlpha(0.5).png().toBuffer());
});

test('palette, 16-bit, CMYK and animated inputs come back as valid JPEGs', async () => {
  const source = await photo(256, 160, 'png');
  const palette = await sharp(source).png({ palette: true, colours: 64 }).toBuffer();
  const sixteen = await sharp(source).toColourspace('rgb16').png().toBuffer();
  const cmyk = await sharp(source).toColourspace('cmyk').jpeg().toBuffer();
  // Distinct frames: the GIF encoder merges identical ones.
  const animated = await sharp([source, await sharp(source).flip().toBuffer(), await sharp(source).flop().toBuffer()], { join: { animated: true } }).gif().toBuffer();
  assert.equal((await sharp(sixteen).metadata()).depth, 'ushort');
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  assert.equal((await sharp(animated).metadata()).pages, 3);
  for (const [name, input] of Object.entries({ palette, sixteen, cmyk, animated })) {
    const response = await postFile(app, '/', 'img', input);
    assert.equal(response.statusCode, 200, `${name}: ${response.body}`);
    const meta = await sharp(response.rawPayload).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 256, 160], name);
  }
  await assertBlurredJpeg(palette);
  await assertBlurredJpeg(sixteen);
});

test('the EXIF orientation is applied, so a phone photo comes back upright', async () => {
  // Stored sideways with orientation 6 (rotate 90 clockwise to display): displayed, the red quadrant is top-left.
  const upright = await quadrants(80, 60);
  const sideways = await sharp(upright).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
  const stored = await sharp(sideways).metadata();
  assert.deepEqual([stored.width, stored.height, stored.orientation], [60, 80, 6]);
  const response = await postFile(app, '/', 'img', sideways);
  const output = await decode(response.rawPayload);
  assert.deepEqual([output.width, output.height], [80, 60]);
  const [r, g, b] = meanColour(output, 5, 5, 20, 15);
  assert.ok(r! > 180 && g! < 80 && b! < 80, `top-left should be red, got ${r},${g},${b}`);
});

test('a Display P3 photo is blurred in P3 and comes back tagged P3, not converted to sRGB', async () => {
  const input = await sharp(await photo(320, 200)).withIccProfile('p3').jpeg({ quality: 95 }).toBuffer();
  const inputIcc = (await sharp(input).metadata()).icc!;
  const response = await postFile(app, '/', 'img', input);
  assert.equal(response.statusCode, 200);
  assert.deepEqual((await sharp(response.rawPayload).metadata()).icc, inputIcc, 'the output carries the input profile');
  // In the profile's own values (no colour conversion on either side): Pillow BLUR within JPEG noise.
  const asStored = async (jpeg: Buffer) => {
    const { data, info } = await sharp(jpeg).keepIccProfile().raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  };
  const reference = referenceRingBlur(await asStored(input));
  assert.ok(psnr(await asStored(response.rawPayload), reference) >= 38);
  // Same pixel values and the same profile: a colour-managed viewer shows what it would show for the reference.
});

test('the raw-body form and the imaginary field names work too', async () => {
  const input = await photo(256, 160);
  const raw = await postRaw(app, '/', input, 'image/jpeg');
  assert.equal(raw.statusCode, 200);
  await assertBlurredJpeg(input, 'file');
});
