/** contrast, imgproxy's multiplier: each channel's distance from 128 scaled, clipped; checked pixel by pixel. */
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

for (const amount of [1.7, 0.4, 0]) {
  test(`contrast=${amount} scales every channel's distance from 128 by ${amount}`, async () => {
    const response = await postRaw(app, `/contrast?contrast=${amount}&type=png`, input, 'image/png');
    assert.equal(response.statusCode, 200, response.body);
    const original = await decode(input);
    const got = await decode(response.rawPayload);
    // Measured at most 1 level: libvips rounds the float result, this reference rounds half up.
    const difference = maxDiff(got, mapped(original, (v) => 128 + (v - 128) * amount));
    assert.ok(difference <= 1, `within 1 level of the definition: ${difference}`);
    assert.ok(psnr(got, original) < 25, 'differs from the input');
  });
}

test('as a pipeline step it gives the same pixels, and it is documented', async () => {
  await assertStepLikeRoute(app, 'contrast', { contrast: 1.5 }, input, /imgproxy/);
});

test('hostile values are 400s: out of range, fractional, NaN, huge, missing', async () => {
  await assertRefusals(app, 'contrast', input, { invalid: valuesOf('contrast', ['100.5', '-1', '-0.5', 'NaN', 'Infinity', '1e309', '99999999999999999999', 'abc']), missing: '', step: { contrast: -1e6 }, names: /contrast/ });
});

test('a 16-bit input is processed on the 8-bit scale the parameter is given in', async () => {
  // libvips would otherwise apply the level to 0-65535 values: ±40 of 65535 changes next to nothing.
  const deep = await sharp(input).toColourspace('rgb16').png().toBuffer();
  const [eight, sixteen] = [await postRaw(app, '/contrast?contrast=1.6&type=png', input, 'image/png'), await postRaw(app, '/contrast?contrast=1.6&type=png', deep, 'image/png')];
  assert.equal(sixteen.statusCode, 200, sixteen.body);
  assert.equal(psnr(await decode(sixteen.rawPayload), await decode(eight.rawPayload)), Infinity);
});
