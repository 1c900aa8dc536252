/**
 * An operation uses only its own parameters: a watermark's text sent to /resize draws nothing (as in imaginary),
 * and the answer names what it ignored in PP-Ignored-Params; imaginary's sigma, which every operation honours, blurs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { run } from '../../src/core/pipeline.js';
import { postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr } from '../../testkit/images.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  input = await photo(400, 300, 'png');
});
after(() => app.close());

test('POST /resize?width=100&text=hi draws no text and names text as ignored', async () => {
  const plain = await postRaw(app, '/resize?width=100&type=png', input, 'image/png');
  const withText = await postRaw(app, '/resize?width=100&type=png&text=hi&font=sans%2060&opacity=1', input, 'image/png');
  assert.equal(withText.statusCode, 200, withText.body);
  assert.equal(withText.headers['pp-ignored-params'], 'text, font, opacity');
  assert.equal(plain.headers['pp-ignored-params'], undefined, 'nothing ignored, no header');
  assert.equal(psnr(await decode(withText.rawPayload), await decode(plain.rawPayload)), Infinity, 'the same pixels: no text drawn');
});

test('POST /resize?width=100&sigma=3 still blurs, as imaginary applies sigma on every operation', async () => {
  const blurred = await postRaw(app, '/resize?width=100&type=png&sigma=3', input, 'image/png');
  assert.equal(blurred.statusCode, 200, blurred.body);
  assert.equal(blurred.headers['pp-ignored-params'], undefined);
  // References made here with sharp directly: resized, and resized then blurred with the same sigma.
  const resized = await sharp(input).resize(100).png().toBuffer();
  const reference = await sharp(resized).blur(3).png().toBuffer();
  const got = await decode(blurred.rawPayload);
  const toBlurred = psnr(got, await decode(reference));
  const toSharp = psnr(got, await decode(resized));
  assert.ok(toBlurred > 35, `close to the blurred reference: ${toBlurred.toFixed(1)} dB`);
  assert.ok(toBlurred > toSharp + 5, `blurred, not merely resized: ${toBlurred.toFixed(1)} vs ${toSharp.toFixed(1)} dB`);
});

test('unknown parameters are ignored and named; the access parameters key and sign are not', async () => {
  const response = await postRaw(app, '/flip?foo=1&key=abc&dpi=5', input, 'image/png');
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['pp-ignored-params'], 'foo, dpi');
});

test('a foreign parameter is still checked, as imaginary checks every parameter on every route', async () => {
  const response = await postRaw(app, '/resize?width=100&dpi=abc', input, 'image/png');
  assert.equal(response.statusCode, 400);
  assert.equal(response.json().code, 'PP_INVALID_PARAM');
});

test('pipelines name what their steps and the top-level query ignored; the library reports it too', async () => {
  const operations = encodeURIComponent(JSON.stringify([{ operation: 'resize', params: { width: 100, text: 'hi' } }, { operation: 'flip' }]));
  const response = await postRaw(app, `/pipeline?operations=${operations}&quality=90`, input, 'image/png');
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['pp-ignored-params'], 'quality, text');
  const result = await run(input, [{ operation: 'resize', params: { width: 100, text: 'hi' } }]);
  assert.deepEqual(result.ignored, ['text']);
});
