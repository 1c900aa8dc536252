/**
 * roundcorners, thumbor's round_corner: alpha is the pixel's area inside the rounded rectangle, computed here by
 * sampling each pixel 32 x 32 times (the operation samples 16 x 16); the colours stay.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr } from '../../testkit/images.js';
import { assertRefusals } from '../../testkit/operations.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  input = await photo(90, 60, 'png');
});
after(() => app.close());

/** The share of pixel (x, y) inside a width x height rectangle whose corners are quarter ellipses of radii rx, ry. */
function covered(x: number, y: number, width: number, height: number, rx: number, ry: number): number {
  const n = 32;
  let inside = 0;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const px = x + (i + 0.5) / n;
      const py = y + (j + 0.5) / n;
      const cx = Math.min(Math.max(px, rx), width - rx);
      const cy = Math.min(Math.max(py, ry), height - ry);
      if (((px - cx) / rx) ** 2 + ((py - cy) / ry) ** 2 <= 1) inside++;
    }
  }
  return inside / (n * n);
}

function expectedAlpha(width: number, height: number, rx: number, ry: number): Float64Array {
  const alpha = new Float64Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) alpha[y * width + x] = covered(x, y, width, height, rx, ry);
  return alpha;
}

for (const [query, rx, ry] of [['radius=15', 15, 15], ['radius=20&radiusy=8', 20, 8], ['radius=500', 45, 30]] as const) {
  test(`${query}: alpha is the covered area (radii ${rx}, ${ry}), colours unchanged`, async () => {
    const response = await postRaw(app, `/roundcorners?${query}&type=png`, input, 'image/png');
    assert.equal(response.statusCode, 200, response.body);
    const [got, original] = [await decode(response.rawPayload), await decode(input)];
    assert.equal(got.channels, 4);
    const alpha = expectedAlpha(90, 60, rx, ry);
    let worst = 0;
    let edge = 0;
    let total = 0;
    for (let p = 0; p < 90 * 60; p++) {
      const share = alpha[p]!;
      const a = got.data[p * 4 + 3]!;
      if (share === 1 || share === 0) assert.equal(a, share * 255, `pixel ${p % 90},${Math.floor(p / 90)} wholly ${share ? 'inside' : 'outside'}`);
      else edge++;
      worst = Math.max(worst, Math.abs(a - 255 * share));
      total += Math.abs(a - 255 * share);
      for (let c = 0; c < 3; c++) if (a > 0) assert.equal(got.data[p * 4 + c], original.data[p * 3 + c]);
    }
    // 256 point samples a pixel against 1024.
    // Measured at worst 2.9 / 2.0 / 4.5 levels, on average 0.7 / 0.6 / 0.7.
    assert.ok(worst <= 6 && total / edge < 1.5, `antialiased: at worst ${worst.toFixed(1)}, mean ${(total / edge).toFixed(1)} levels over ${edge} edge pixels`);
  });
}

test('with background the corners are that colour, mixed by coverage', async () => {
  const response = await postRaw(app, '/roundcorners?radius=12&background=255,0,255&type=png', input, 'image/png');
  const [got, original] = [await decode(response.rawPayload), await decode(input)];
  assert.equal(got.channels, 3);
  const alpha = expectedAlpha(90, 60, 12, 12);
  let worst = 0;
  for (let p = 0; p < 90 * 60; p++) {
    for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(got.data[p * 3 + c]! - (alpha[p]! * original.data[p * 3 + c]! + (1 - alpha[p]!) * [255, 0, 255][c]!)));
  }
  assert.ok(worst <= 6, `corners are the background, edges mixed: ${worst.toFixed(1)}`);
  assert.deepEqual([...got.data.subarray(0, 3)], [255, 0, 255]);
});

test('as a pipeline step it gives the same pixels, and it is documented', async () => {
  const route = await postRaw(app, '/roundcorners?radius=9&type=png', input, 'image/png');
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'roundcorners', params: { radius: 9 } }, { operation: 'convert', params: { type: 'png' } }]));
  const pipeline = await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png');
  assert.equal(pipeline.statusCode, 200, pipeline.body);
  assert.equal(psnr(await decode(pipeline.rawPayload), await decode(route.rawPayload)), Infinity);
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post?: { description?: string } }> };
  assert.match(document.paths['/roundcorners']?.post?.description ?? '', /thumbor/);
});

test('hostile values are 400s: zero, negative, fractional, NaN, huge, missing', async () => {
  await assertRefusals(app, 'roundcorners', input, { invalid: ['radius=-5', 'radius=0', 'radius=2.5', 'radius=NaN', 'radius=1e309', 'radius=100001', 'radius=5&radiusy=-1', 'radius=5&radiusy=Infinity'], missing: '', step: { radius: 1e20 }, names: /radius/ });
});
