/**
 * tint: checked against its definition computed here in CIE Lab (D65, the textbook sRGB formulas): the pixel's
 * luminance keeps its L*, and takes the tint's a*, b* weighted by 1 - 4 (L* / 100 - 0.5)^2.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, type Raw } from '../../testkit/images.js';
import { toLinear, toGamma, rgbToLab, labToRgb } from '../../testkit/colour.js';
import { assertNearDefinition, assertRefusals, assertStepLikeRoute, valuesOf } from '../../testkit/operations.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  input = await photo(96, 64, 'png');
});
after(() => app.close());

function reference(src: Raw, colour: [number, number, number]): Raw {
  const [, ta, tb] = rgbToLab(...colour);
  const data = new Uint8Array(src.data.length);
  for (let i = 0; i < src.data.length; i += 3) {
    const [r, g, b] = [0, 1, 2].map((c) => toLinear(src.data[i + c]! / 255)) as [number, number, number];
    const grey = Math.round(255 * toGamma(0.2126 * r + 0.7152 * g + 0.0722 * b));
    const [L] = rgbToLab(grey, grey, grey);
    const weight = 1 - 4 * (L / 100 - 0.5) ** 2;
    data.set(labToRgb(L, weight * ta, weight * tb), i);
  }
  return { ...src, data };
}

for (const colour of [[200, 120, 40], [40, 90, 220]] as [number, number, number][]) {
  test(`tint with ${colour.join(',')}`, async () => {
    const response = await postRaw(app, `/tint?color=${colour.join(',')}&type=png`, input, 'image/png');
    assert.equal(response.statusCode, 200, response.body);
    const original = await decode(input);
    const got = await decode(response.rawPayload);
    // Measured 52.5 and 52.2 dB to the definition against 8.3 and 8.9 dB to the input (libvips maps a 256-entry table
    // made in its float Lab; this reference uses the textbook matrices).
    assertNearDefinition(got, reference(original, colour), original, 48);
  });
}

test('as a pipeline step it gives the same pixels, and it is documented', async () => {
  await assertStepLikeRoute(app, 'tint', { color: '10,200,100' }, input, /sharp's tint/);
});

test('hostile values are 400s: out of range, negative, NaN, too many parts, missing', async () => {
  await assertRefusals(app, 'tint', input, { invalid: valuesOf('color', ['256,0,0', '-1,0,0', 'NaN,0,0', '1e9,0,0', '1,2', '1,2,3,4', 'red']), missing: '', step: { color: [1, 2, 3] }, names: /color/ });
});
