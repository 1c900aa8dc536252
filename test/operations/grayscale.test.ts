/**
 * grayscale (thumbor's), negate and threshold's grey: checked against the luminance computed here from its definition,
 * Y = 0.2126 R + 0.7152 G + 0.0722 B of linear-light sRGB, encoded back with the sRGB curve.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { assertProblem, postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr, type Raw } from '../../testkit/images.js';
import { toLinear, toGamma } from '../../testkit/colour.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  input = await photo(96, 64, 'png');
});
after(() => app.close());

function luminance(src: Raw): Raw {
  const data = new Uint8Array(src.width * src.height);
  for (let p = 0; p < data.length; p++) {
    const [r, g, b] = [0, 1, 2].map((c) => toLinear(src.data[p * src.channels + c]! / 255)) as [number, number, number];
    data[p] = Math.round(255 * toGamma(0.2126 * r + 0.7152 * g + 0.0722 * b));
  }
  return { data, width: src.width, height: src.height, channels: 1 };
}

// sharp decodes a grey PNG to three equal channels: the file's own channel count is in its header.
const first = (image: Raw): Raw => ({ ...image, channels: 1, data: image.data.filter((_, i) => i % image.channels === 0) });
const maxDiff = (a: Raw, b: Raw) => a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i]!)), 0);

test('grayscale gives one channel, the sRGB-encoded luminance', async () => {
  const response = await postRaw(app, '/grayscale?type=png', input, 'image/png');
  assert.equal(response.statusCode, 200, response.body);
  assert.equal((await sharp(response.rawPayload).metadata()).channels, 1, 'one grey channel');
  const got = first(await decode(response.rawPayload));
  const original = await decode(input);
  const reference = luminance(original);
  const difference = maxDiff(got, reference);
  // Measured at most 1 level (56.0 dB): libvips converts through 16-bit linear light.
  assert.ok(difference <= 2, `within 2 levels of the definition: ${difference} (${psnr(got, reference).toFixed(1)} dB)`);
  // An unweighted average of the channels is a different picture: the weights matter.
  const average: Raw = { ...reference, data: reference.data.map((_, p) => Math.round((original.data[p * 3]! + original.data[p * 3 + 1]! + original.data[p * 3 + 2]!) / 3)) };
  assert.ok(maxDiff(got, average) > 20, 'not a plain average');
});

test('alpha is kept beside the grey', async () => {
  const rgba = await sharp(input).ensureAlpha(0.5).png().toBuffer();
  const output = (await postRaw(app, '/grayscale?type=png', rgba, 'image/png')).rawPayload;
  assert.equal((await sharp(output).metadata()).channels, 2, 'grey and alpha');
  const [got, original] = [await decode(output), await decode(rgba)];
  assert.ok(got.data.every((v, i) => i % 4 !== 3 || v === original.data[i]), 'alpha as it was');
});

test('as a pipeline step it gives the same pixels, and it is documented', async () => {
  const route = await postRaw(app, '/grayscale?type=png', input, 'image/png');
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'grayscale' }, { operation: 'convert', params: { type: 'png' } }]));
  const pipeline = await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png');
  assert.equal(pipeline.statusCode, 200, pipeline.body);
  const [a, b] = [await decode(pipeline.rawPayload), await decode(route.rawPayload)];
  assert.equal(psnr(first(a), first(b)), Infinity);
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post?: { description?: string } }> };
  assert.match(document.paths['/grayscale']?.post?.description ?? '', /thumbor/);
});

test('it has no parameters of its own: a bad output parameter is still a 400', async () => {
  assertProblem(await postRaw(app, '/grayscale?quality=1000', input, 'image/png'), 400, 'PP_INVALID_PARAM', /quality/);
  assertProblem(await postRaw(app, '/grayscale?type=bmp', input, 'image/png'), 400, 'PP_INVALID_PARAM', /type/);
});
