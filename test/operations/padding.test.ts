/** padding, imgproxy's CSS-style sides: the input unchanged at its offset, the background (or transparency) around it. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertProblem, postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr, type Raw } from '../../testkit/images.js';
import { assertRefusals, valuesOf } from '../../testkit/operations.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  input = await photo(60, 40, 'png');
});
after(() => app.close());

/** The expected picture, built from the definition: background everywhere, the input copied in at (left, top). */
function padded(src: Raw, [top, right, bottom, left]: number[], fill: number[]): Raw {
  const width = src.width + left! + right!;
  const height = src.height + top! + bottom!;
  const channels = fill.length;
  const data = new Uint8Array(width * height * channels);
  for (let p = 0; p < width * height; p++) data.set(fill, p * channels);
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      for (let c = 0; c < src.channels; c++) data[((y + top!) * width + x + left!) * channels + c] = src.data[(y * src.width + x) * src.channels + c]!;
      if (channels === 4) data[((y + top!) * width + x + left!) * 4 + 3] = 255;
    }
  }
  return { data, width, height, channels };
}

for (const [given, sides] of [['7', [7, 7, 7, 7]], ['3,9', [3, 9, 3, 9]], ['1,2,3', [1, 2, 3, 2]], ['4,0,6,11', [4, 0, 6, 11]]] as const) {
  test(`padding=${given} adds ${sides.join(', ')} (top, right, bottom, left) of the background`, async () => {
    const response = await postRaw(app, `/padding?padding=${given}&background=10,200,30&type=png`, input, 'image/png');
    assert.equal(response.statusCode, 200, response.body);
    const expected = padded(await decode(input), [...sides], [10, 200, 30]);
    const got = await decode(response.rawPayload);
    // Measured Infinity: a copy and a fill, exact.
    assert.equal(psnr(got, expected), Infinity);
  });
}

test('without background the padding is transparent', async () => {
  const got = await decode((await postRaw(app, '/padding?padding=5&type=png', input, 'image/png')).rawPayload);
  assert.equal(got.channels, 4);
  assert.equal(psnr(got, padded(await decode(input), [5, 5, 5, 5], [0, 0, 0, 0])), Infinity);
});

test('as a pipeline step it gives the same pixels, and it is documented', async () => {
  const route = await postRaw(app, '/padding?padding=2,4&background=255,255,255&type=png', input, 'image/png');
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'padding', params: { padding: '2,4', background: '255,255,255' } }, { operation: 'convert', params: { type: 'png' } }]));
  const pipeline = await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png');
  assert.equal(pipeline.statusCode, 200, pipeline.body);
  assert.equal(psnr(await decode(pipeline.rawPayload), await decode(route.rawPayload)), Infinity);
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post?: { description?: string } }> };
  assert.match(document.paths['/padding']?.post?.description ?? '', /imgproxy/);
});

test('hostile values are 400s; an output over the limits is a 413 before any pixel is made', async () => {
  await assertRefusals(app, 'padding', input, { invalid: valuesOf('padding', ['-1', '1,-2', '16384', '1,2,3,4,5', '1.5', 'NaN', '1e309', 'a,b', ',', '99999999999']), missing: '', step: { padding: -5 }, names: /padding/ });
  assertProblem(await postRaw(app, '/padding?padding=16383', input, 'image/png'), 413, 'PP_OUTPUT_TOO_LARGE', /exceeds the limits/);
});
