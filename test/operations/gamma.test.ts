/** gamma, ImageMagick's -gamma: each channel to the power 1/gamma, checked pixel by pixel; alpha is left alone. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr, type Raw } from '../../testkit/images.js';
import { assertRefusals, valuesOf } from '../../testkit/operations.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  input = await photo(96, 64, 'png');
});
after(() => app.close());

const mapped = (src: Raw, f: (v: number) => number): Raw => ({ ...src, data: src.data.map((v) => Math.max(0, Math.min(255, Math.round(f(v))))) });
const maxDiff = (a: Raw, b: Raw) => a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i]!)), 0);

for (const g of [2.2, 0.45]) {
  test(`gamma=${g} raises each channel to 1/${g}`, async () => {
    const response = await postRaw(app, `/gamma?gamma=${g}&type=png`, input, 'image/png');
    assert.equal(response.statusCode, 200, response.body);
    const original = await decode(input);
    const got = await decode(response.rawPayload);
    // Measured 0: the same power rounded the same way.
    assert.equal(maxDiff(got, mapped(original, (v) => 255 * (v / 255) ** (1 / g))), 0);
    assert.ok(psnr(got, original) < 25, 'differs from the input');
  });
}

test('alpha is kept as it was', async () => {
  const rgba = await sharp(input).ensureAlpha(0.5).png().toBuffer();
  const response = await postRaw(app, '/gamma?gamma=2&type=png', rgba, 'image/png');
  const got = await decode(response.rawPayload);
  assert.equal(got.channels, 4);
  const original = await decode(rgba);
  for (let i = 0; i < got.data.length; i += 4) {
    assert.equal(got.data[i + 3], original.data[i + 3]);
    assert.equal(got.data[i], Math.round(255 * (original.data[i]! / 255) ** 0.5));
  }
});

test('as a pipeline step it gives the same pixels, and it is documented', async () => {
  const route = await postRaw(app, '/gamma?gamma=1.8&type=png', input, 'image/png');
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'gamma', params: { gamma: 1.8 } }, { operation: 'convert', params: { type: 'png' } }]));
  const pipeline = await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png');
  assert.equal(pipeline.statusCode, 200, pipeline.body);
  assert.equal(psnr(await decode(pipeline.rawPayload), await decode(route.rawPayload)), Infinity);
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post?: { description?: string } }> };
  assert.match(document.paths['/gamma']?.post?.description ?? '', /ImageMagick/);
});

test('hostile values are 400s: zero, negative, over 10, NaN, huge, missing', async () => {
  await assertRefusals(app, 'gamma', input, { invalid: valuesOf('gamma', ['0.05', '-2', '10.5', 'NaN', 'Infinity', '1e309', 'abc']), missing: '', step: { gamma: 1e9 }, names: /gamma/ });
});
