/** brightness, imgproxy's: each colour channel plus a constant, clipped; checked pixel by pixel against that sum. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr, type Raw } from '../../testkit/images.js';
import { assertRefusals, assertStepLikeRoute, valuesOf } from '../../testkit/operations.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  input = await photo(96, 64, 'png');
});
after(() => app.close());

const mapped = (src: Raw, f: (v: number) => number): Raw => ({ ...src, data: src.data.map((v) => Math.max(0, Math.min(255, Math.round(f(v))))) });
const maxDiff = (a: Raw, b: Raw) => a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i]!)), 0);

for (const amount of [60, -90]) {
  test(`brightness=${amount} adds ${amount} to every channel, clipped`, async () => {
    const response = await postRaw(app, `/brightness?brightness=${amount}&type=png`, input, 'image/png');
    assert.equal(response.statusCode, 200, response.body);
    const original = await decode(input);
    const got = await decode(response.rawPayload);
    // Measured 0: the sum is exact in integers.
    assert.equal(maxDiff(got, mapped(original, (v) => v + amount)), 0);
    assert.ok(psnr(got, original) < 25, 'differs from the input');
  });
}

test('as a pipeline step it gives the same pixels, and it is documented', async () => {
  await assertStepLikeRoute(app, 'brightness', { brightness: 40 }, input, /imgproxy/);
});

test('hostile values are 400s: out of range, fractional, NaN, huge, missing', async () => {
  await assertRefusals(app, 'brightness', input, { invalid: valuesOf('brightness', ['256', '-256', '1.5', 'NaN', 'Infinity', '1e309', '99999999999999999999', 'abc']), missing: '', step: { brightness: -1e6 }, names: /brightness/ });
});

test('a 16-bit input is processed on the 8-bit scale the parameter is given in', async () => {
  // libvips would otherwise apply the level to 0-65535 values: ±40 of 65535 changes next to nothing.
  const deep = await sharp(input).toColourspace('rgb16').png().toBuffer();
  const [eight, sixteen] = [await postRaw(app, '/brightness?brightness=-40&type=png', input, 'image/png'), await postRaw(app, '/brightness?brightness=-40&type=png', deep, 'image/png')];
  assert.equal(sixteen.statusCode, 200, sixteen.body);
  assert.equal(psnr(await decode(sixteen.rawPayload), await decode(eight.rawPayload)), Infinity);
});
