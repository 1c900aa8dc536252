/** negate: every colour channel v becomes 255 - v, exactly; alpha stays; negating twice gives the input back. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { assertProblem, postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr } from '../../testkit/images.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  input = await sharp(await photo(96, 64, 'png')).ensureAlpha(0.75).png().toBuffer();
});
after(() => app.close());

test('each colour channel becomes 255 minus itself, alpha is kept', async () => {
  const response = await postRaw(app, '/negate?type=png', input, 'image/png');
  assert.equal(response.statusCode, 200, response.body);
  const [got, original] = [await decode(response.rawPayload), await decode(input)];
  assert.equal(got.channels, 4);
  const wrong = got.data.filter((v, i) => v !== (i % 4 === 3 ? original.data[i] : 255 - original.data[i]!)).length;
  // Measured 0 differences: the definition is exact.
  assert.equal(wrong, 0);
  assert.ok(psnr(got, original) < 15, 'differs from the input');
});

test('twice, through the pipeline, it is the identity; once it matches the route', async () => {
  const twice = encodeURIComponent(JSON.stringify([{ operation: 'negate' }, { operation: 'negate', params: { type: 'png' } }]));
  const back = await postRaw(app, `/pipeline?operations=${twice}`, input, 'image/png');
  assert.equal(back.statusCode, 200, back.body);
  assert.equal(psnr(await decode(back.rawPayload), await decode(input)), Infinity);
  const once = encodeURIComponent(JSON.stringify([{ operation: 'negate', params: { type: 'png' } }]));
  const [pipeline, route] = [await postRaw(app, `/pipeline?operations=${once}`, input, 'image/png'), await postRaw(app, '/negate?type=png', input, 'image/png')];
  assert.equal(psnr(await decode(pipeline.rawPayload), await decode(route.rawPayload)), Infinity);
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post?: { description?: string } }> };
  assert.match(document.paths['/negate']?.post?.description ?? '', /ImageMagick/);
});

test('it has no parameters of its own: a bad output parameter is still a 400', async () => {
  assertProblem(await postRaw(app, '/negate?quality=-5000', input, 'image/png'), 400, 'PP_INVALID_PARAM', /quality/);
  assertProblem(await postRaw(app, '/negate?background=300,0,0', input, 'image/png'), 400, 'PP_INVALID_PARAM', /background/);
});
