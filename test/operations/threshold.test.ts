/**
 * threshold: white where the luminance (computed here from its definition, linear-light Rec. 709 weights encoded with
 * the sRGB curve) is at least the threshold, black elsewhere.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr, type Raw } from '../../testkit/images.js';
import { assertRefusals, valuesOf } from '../../testkit/operations.js';
import { toLinear, toGamma } from '../../testkit/colour.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  input = await photo(96, 64, 'png');
});
after(() => app.close());

const grey = (src: Raw, p: number) => {
  const [r, g, b] = [0, 1, 2].map((c) => toLinear(src.data[p * src.channels + c]! / 255)) as [number, number, number];
  return 255 * toGamma(0.2126 * r + 0.7152 * g + 0.0722 * b);
};

for (const level of [128, 90]) {
  test(`threshold=${level}: white at or above it, black below`, async () => {
    const response = await postRaw(app, `/threshold?threshold=${level}&type=png`, input, 'image/png');
    assert.equal(response.statusCode, 200, response.body);
    assert.equal((await sharp(response.rawPayload).metadata()).channels, 1, 'one grey channel');
    const original = await decode(input);
    const got = await decode(response.rawPayload);
    let wrong = 0;
    let white = 0;
    for (let p = 0; p < got.width * got.height; p++) {
      const value = got.data[p * got.channels]!;
      assert.ok(value === 0 || value === 255, 'only black and white');
      if (value === 255) white++;
      // A pixel within a level of the threshold may fall either side: libvips rounds its grey through 16 bits.
      const expected = grey(original, p) >= level ? 255 : 0;
      if (value !== expected && Math.abs(grey(original, p) - level) > 1) wrong++;
    }
    // Measured 0 pixels on the wrong side (more than a level from the threshold).
    assert.equal(wrong, 0);
    assert.ok(white > 0.1 * got.width * got.height && white < 0.9 * got.width * got.height, `both colours present (${white} white)`);
  });
}

test('without a value it thresholds at 128; as a pipeline step it gives the same pixels', async () => {
  const [plain, at128] = [await postRaw(app, '/threshold?type=png', input, 'image/png'), await postRaw(app, '/threshold?threshold=128&type=png', input, 'image/png')];
  assert.equal(plain.statusCode, 200, plain.body);
  assert.equal(psnr(await decode(plain.rawPayload), await decode(at128.rawPayload)), Infinity);
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'threshold', params: { threshold: 100 } }, { operation: 'convert', params: { type: 'png' } }]));
  const [pipeline, route] = [await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png'), await postRaw(app, '/threshold?threshold=100&type=png', input, 'image/png')];
  assert.equal(pipeline.statusCode, 200, pipeline.body);
  assert.equal(psnr(await decode(pipeline.rawPayload), await decode(route.rawPayload)), Infinity);
});

test('hostile values are 400s: negative, over 255, fractional, NaN, huge', async () => {
  await assertRefusals(app, 'threshold', input, { invalid: valuesOf('threshold', ['-1', '256', '12.5', 'NaN', 'Infinity', '1e309', 'abc']), step: { threshold: 1e12 }, names: /threshold/ });
});

test('a 16-bit input is processed on the 8-bit scale the parameter is given in', async () => {
  // libvips would otherwise apply the level to 0-65535 values: ±40 of 65535 changes next to nothing.
  const deep = await sharp(input).toColourspace('rgb16').png().toBuffer();
  const [eight, sixteen] = [await postRaw(app, '/threshold?threshold=100&type=png', input, 'image/png'), await postRaw(app, '/threshold?threshold=100&type=png', deep, 'image/png')];
  assert.equal(sixteen.statusCode, 200, sixteen.body);
  assert.equal(psnr(await decode(sixteen.rawPayload), await decode(eight.rawPayload)), Infinity);
});
