/**
 * duotone, imgproxy's: the luminance (computed here from its definition with pow, no tables) mapped from color1 to
 * color2, then mixed with the original by intensity.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr, type Raw } from '../../testkit/images.js';
import { assertRefusals } from '../../testkit/operations.js';
import { toLinear, toGamma } from '../../testkit/colour.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  input = await photo(96, 64, 'png');
});
after(() => app.close());

function reference(src: Raw, shadow: number[], highlight: number[], intensity: number): Raw {
  const data = new Uint8Array(src.data.length);
  for (let i = 0; i < src.data.length; i += src.channels) {
    const [r, g, b] = [0, 1, 2].map((c) => toLinear(src.data[i + c]! / 255)) as [number, number, number];
    const grey = toGamma(0.2126 * r + 0.7152 * g + 0.0722 * b);
    for (let c = 0; c < 3; c++) {
      const tone = shadow[c]! * (1 - grey) + highlight[c]! * grey;
      data[i + c] = Math.round((1 - intensity) * src.data[i + c]! + intensity * tone);
    }
    if (src.channels === 4) data[i + 3] = src.data[i + 3]!;
  }
  return { ...src, data };
}

const maxDiff = (a: Raw, b: Raw) => a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i]!)), 0);

for (const [c1, c2, intensity] of [['20,0,80', '255,220,0', 1], ['0,60,0', '250,250,250', 0.4]] as const) {
  test(`color1=${c1}, color2=${c2}, intensity=${intensity}`, async () => {
    const response = await postRaw(app, `/duotone?color1=${c1}&color2=${c2}&intensity=${intensity}&type=png`, input, 'image/png');
    assert.equal(response.statusCode, 200, response.body);
    const [got, original] = [await decode(response.rawPayload), await decode(input)];
    const expected = reference(original, c1.split(',').map(Number), c2.split(',').map(Number), intensity);
    const difference = maxDiff(got, expected);
    // Measured 0 levels; 1 is allowed for a value at .5 that the encoding table puts on the other side.
    assert.ok(difference <= 1, `within a level of the definition: ${difference} (${psnr(got, expected).toFixed(1)} dB)`);
    assert.ok(psnr(got, original) < 25, 'differs from the input');
  });
}

test('alpha is kept; the default intensity is 1; as a pipeline step it gives the same pixels', async () => {
  const rgba = await sharp(input).ensureAlpha(0.3).png().toBuffer();
  const got = await decode((await postRaw(app, '/duotone?color1=0,0,0&color2=255,0,0&type=png', rgba, 'image/png')).rawPayload);
  const original = await decode(rgba);
  assert.equal(got.channels, 4);
  assert.ok(maxDiff(got, reference(original, [0, 0, 0], [255, 0, 0], 1)) <= 1);
  const route = await postRaw(app, '/duotone?color1=0,0,90&color2=255,255,200&type=png', input, 'image/png');
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'duotone', params: { color1: '0,0,90', color2: '255,255,200' } }, { operation: 'convert', params: { type: 'png' } }]));
  const pipeline = await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png');
  assert.equal(pipeline.statusCode, 200, pipeline.body);
  assert.equal(psnr(await decode(pipeline.rawPayload), await decode(route.rawPayload)), Infinity);
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post?: { description?: string } }> };
  assert.match(document.paths['/duotone']?.post?.description ?? '', /imgproxy/);
});

test('hostile values are 400s: colours out of range, intensity outside 0-1, NaN, huge, missing', async () => {
  await assertRefusals(app, 'duotone', input, { invalid: ['color1=256,0,0&color2=0,0,0', 'color1=0,0,0&color2=-1,0,0', 'color1=0,0&color2=0,0,0', 'color1=0,0,0&color2=1,1,1&intensity=1.5', 'color1=0,0,0&color2=1,1,1&intensity=-0.5', 'color1=0,0,0&color2=1,1,1&intensity=NaN', 'color1=0,0,0&color2=1,1,1&intensity=1e309'], names: /color|intensity/, missing: 'color1=0,0,0', missingNames: /color2/, step: { color1: '0,0,0', color2: '9,9,9', intensity: 1e12 }, stepNames: /intensity/ });
});
