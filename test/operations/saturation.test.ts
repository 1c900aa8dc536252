/**
 * saturation, imgproxy's multiplier: checked against the definition computed here in CIE Lab (D65, the textbook sRGB
 * formulas): a* and b* scaled, L* kept.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, type Raw } from '../../testkit/images.js';
import { rgbToLab, labToRgb } from '../../testkit/colour.js';
import { assertNearDefinition, assertRefusals, assertStepLikeRoute, valuesOf } from '../../testkit/operations.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  input = await photo(96, 64, 'png');
});
after(() => app.close());

function reference(src: Raw, factor: number): Raw {
  const data = new Uint8Array(src.data.length);
  for (let i = 0; i < src.data.length; i += 3) {
    const [L, a, b] = rgbToLab(src.data[i]!, src.data[i + 1]!, src.data[i + 2]!);
    data.set(labToRgb(L, a * factor, b * factor), i);
  }
  return { ...src, data };
}

for (const factor of [1.8, 0.3, 0]) {
  test(`saturation=${factor} scales Lab chroma by ${factor}`, async () => {
    const response = await postRaw(app, `/saturation?saturation=${factor}&type=png`, input, 'image/png');
    assert.equal(response.statusCode, 200, response.body);
    const original = await decode(input);
    const got = await decode(response.rawPayload);
    // Measured 59.4 / 56.1 / 55.9 dB to the definition against 14.5 / 13.3 / 10.7 dB to the input: libvips works in float
    // Lab with its own sRGB tables, this reference with the textbook matrices.
    assertNearDefinition(got, reference(original, factor), original, 50);
  });
}

test('as a pipeline step it gives the same pixels, and it is documented', async () => {
  await assertStepLikeRoute(app, 'saturation', { saturation: 1.5 }, input, /imgproxy/);
});

test('hostile values are 400s: negative, over 100, NaN, huge, missing', async () => {
  await assertRefusals(app, 'saturation', input, { invalid: valuesOf('saturation', ['-1', '-0.5', '100.5', 'NaN', 'Infinity', '1e309', 'abc']), missing: '', step: { saturation: 1e9 }, names: /saturation/ });
});
