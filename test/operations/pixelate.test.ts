/** pixelate, imgproxy's: every size x size block (from the top-left; the last ones narrower) is its own mean colour. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertProblem, postRaw, testApp } from '../../testkit/http.js';
import { decode, meanColour, photo, psnr } from '../../testkit/images.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  // 100 x 70: neither side a multiple of 8, so the last blocks are partial.
  input = await photo(100, 70, 'png');
});
after(() => app.close());

for (const size of [8, 13]) {
  test(`size=${size}: each block is the mean of the input's pixels under it`, async () => {
    const response = await postRaw(app, `/pixelate?size=${size}&type=png`, input, 'image/png');
    assert.equal(response.statusCode, 200, response.body);
    const [got, original] = [await decode(response.rawPayload), await decode(input)];
    assert.deepEqual([got.width, got.height], [100, 70]);
    let worst = 0;
    for (let top = 0; top < 70; top += size) {
      for (let left = 0; left < 100; left += size) {
        const [w, h] = [Math.min(size, 100 - left), Math.min(size, 70 - top)];
        const mean = meanColour(original, left, top, w, h);
        for (let y = top; y < top + h; y++) {
          for (let x = left; x < left + w; x++) {
            for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(got.data[(y * 100 + x) * 3 + c]! - mean[c]!));
          }
        }
      }
    }
    // Measured 0.5: the mean rounded to the nearest level.
    assert.ok(worst <= 0.5, `every pixel is its block's mean, rounded: off by ${worst}`);
    assert.ok(psnr(got, original) < 35, 'differs from the input');
  });
}

test('as a pipeline step it gives the same pixels, and it is documented', async () => {
  const route = await postRaw(app, '/pixelate?size=6&type=png', input, 'image/png');
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'pixelate', params: { size: 6 } }, { operation: 'convert', params: { type: 'png' } }]));
  const pipeline = await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png');
  assert.equal(pipeline.statusCode, 200, pipeline.body);
  assert.equal(psnr(await decode(pipeline.rawPayload), await decode(route.rawPayload)), Infinity);
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post?: { description?: string } }> };
  assert.match(document.paths['/pixelate']?.post?.description ?? '', /imgproxy/);
});

test('a block larger than the image makes one colour; hostile sizes are 400s', async () => {
  const whole = await decode((await postRaw(app, '/pixelate?size=10000&type=png', input, 'image/png')).rawPayload);
  const first = whole.data.subarray(0, 3);
  assert.ok(whole.data.every((v, i) => v === first[i % 3]), 'one colour');
  for (const value of ['-4', '10001', '2.5', 'NaN', 'Infinity', '1e309', 'abc']) {
    assertProblem(await postRaw(app, `/pixelate?size=${value}`, input, 'image/png'), 400, 'PP_INVALID_PARAM', /size/);
  }
  assertProblem(await postRaw(app, '/pixelate', input, 'image/png'), 400, 'PP_MISSING_PARAM', /size/);
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'pixelate', params: { size: 1e15 } }]));
  assertProblem(await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png'), 400, 'PP_INVALID_PARAM', /size/);
});
