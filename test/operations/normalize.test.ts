/**
 * normalize: checked against its definition computed here in CIE Lab (D65, the textbook sRGB formulas): the lower and
 * upper percentiles of the whole-number L* found from its histogram, then L* stretched linearly so they become 0 and 100.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { assertProblem, postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr, type Raw } from '../../testkit/images.js';
import { assertNearDefinition, assertRefusals } from '../../testkit/operations.js';
import { rgbToLab, labToRgb } from '../../testkit/colour.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  // A flat, dull version of the photo (its lightness spans about half the range), with a darker and a lighter patch of
  // 1.6% of the pixels each: the 1st and 99th percentiles fall inside them, not on the photo's sparse tails, where a
  // level of rounding in L* moves a percentile by several levels.
  const patch = (v: number) => ({ input: { create: { width: 12, height: 8, channels: 3 as const, background: { r: v, g: v, b: v } } } });
  const dull = await sharp(await photo(96, 64, 'png')).linear(0.45, 70).png().toBuffer();
  input = await sharp(dull).composite([{ ...patch(45), left: 0, top: 0 }, { ...patch(235), left: 84, top: 56 }]).removeAlpha().png().toBuffer();
});
after(() => app.close());

function reference(src: Raw, lower: number, upper: number): Raw {
  const lab = Array.from({ length: src.width * src.height }, (_, p) => rgbToLab(src.data[p * 3]!, src.data[p * 3 + 1]!, src.data[p * 3 + 2]!));
  const levels = lab.map(([L]) => Math.floor(L));
  // The first whole L* at which the cumulative count reaches percent% of the pixels.
  const percentile = (percent: number) => {
    const histogram = new Array<number>(101).fill(0);
    for (const level of levels) histogram[level]!++;
    let cumulative = 0;
    for (let level = 0; level <= 100; level++) {
      cumulative += histogram[level]!;
      if (cumulative >= (levels.length * percent) / 100) return level;
    }
    return 100;
  };
  const min = lower === 0 ? Math.trunc(Math.min(...lab.map(([L]) => L))) : percentile(lower);
  const max = upper === 100 ? Math.trunc(Math.max(...lab.map(([L]) => L))) : percentile(upper);
  const data = new Uint8Array(src.data.length);
  lab.forEach(([L, a, b], p) => data.set(labToRgb(((L - min) * 100) / (max - min), a, b), p * 3));
  return { ...src, data };
}

for (const [lower, upper] of [[1, 99], [10, 90], [0, 100]] as const) {
  test(`lower=${lower}, upper=${upper} stretches L* between those percentiles to 0-100`, async () => {
    const response = await postRaw(app, `/normalize?lower=${lower}&upper=${upper}&type=png`, input, 'image/png');
    assert.equal(response.statusCode, 200, response.body);
    const original = await decode(input);
    const got = await decode(response.rawPayload);
    // Measured 43.8 / 56.9 / 55.9 dB to the definition against 21.7 / 11.9 / 22.1 dB to the input. At 99% libvips found
    // L* 94 where this reference finds 93 (the light patch's 93.05): one level of stretch costs about 12 dB.
    assertNearDefinition(got, reference(original, lower, upper), original, 42);
  });
}

test('defaults are 1 and 99; as a pipeline step it gives the same pixels, and it is documented', async () => {
  const [plain, explicit] = [await postRaw(app, '/normalize?type=png', input, 'image/png'), await postRaw(app, '/normalize?lower=1&upper=99&type=png', input, 'image/png')];
  assert.equal(plain.statusCode, 200, plain.body);
  assert.equal(psnr(await decode(plain.rawPayload), await decode(explicit.rawPayload)), Infinity);
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'normalize', params: { lower: 5 } }, { operation: 'convert', params: { type: 'png' } }]));
  const [pipeline, route] = [await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png'), await postRaw(app, '/normalize?lower=5&type=png', input, 'image/png')];
  assert.equal(pipeline.statusCode, 200, pipeline.body);
  assert.equal(psnr(await decode(pipeline.rawPayload), await decode(route.rawPayload)), Infinity);
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post?: { description?: string } }> };
  assert.match(document.paths['/normalize']?.post?.description ?? '', /percentiles/);
});

test('hostile values are 400s: out of range, crossed, fractional, NaN, huge', async () => {
  await assertRefusals(app, 'normalize', input, { invalid: ['lower=-1', 'lower=100', 'upper=0', 'upper=101', 'lower=2.5', 'upper=NaN', 'lower=1e309', 'upper=Infinity'], step: { upper: -1e9 }, names: /lower|upper/, stepNames: /upper/ });
  assertProblem(await postRaw(app, '/normalize?lower=60&upper=40', input, 'image/png'), 400, 'PP_INVALID_PARAM', 'lower (60) must be below upper (40)');
});
