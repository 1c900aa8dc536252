/**
 * saturation, imgproxy's multiplier: checked against the definition computed here in CIE Lab (D65, the textbook sRGB
 * formulas): a* and b* scaled, L* kept.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertProblem, postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr, type Raw } from '../../testkit/images.js';

let app: FastifyInstance;
let input: Buffer;
before(async () => {
  app = await testApp();
  input = await photo(96, 64, 'png');
});
after(() => app.close());

const toLinear = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const toGamma = (c: number) => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
const white = [0.95047, 1, 1.08883] as const;
const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
const fInverse = (t: number) => (t ** 3 > 216 / 24389 ? t ** 3 : (116 * t - 16) / (24389 / 27));

function rgbToLab(r: number, g: number, b: number): [number, number, number] {
  const [R, G, B] = [r, g, b].map((v) => toLinear(v / 255)) as [number, number, number];
  const x = (0.4124 * R + 0.3576 * G + 0.1805 * B) / white[0];
  const y = 0.2126 * R + 0.7152 * G + 0.0722 * B;
  const z = (0.0193 * R + 0.1192 * G + 0.9505 * B) / white[2];
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

function labToRgb(L: number, a: number, b: number): [number, number, number] {
  const fy = (L + 16) / 116;
  const x = fInverse(fy + a / 500) * white[0];
  const y = fInverse(fy);
  const z = fInverse(fy - b / 200) * white[2];
  const linear = [3.2406 * x - 1.5372 * y - 0.4986 * z, -0.9689 * x + 1.8758 * y + 0.0415 * z, 0.0557 * x - 0.204 * y + 1.057 * z];
  return linear.map((v) => Math.max(0, Math.min(255, Math.round(toGamma(Math.max(0, v)) * 255)))) as [number, number, number];
}

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
    const toReference = psnr(got, reference(original, factor));
    const toInput = psnr(got, original);
    // Measured 59.4 / 56.1 / 55.9 dB to the definition against 14.5 / 13.3 / 10.7 dB to the input: libvips works in float
    // Lab with its own sRGB tables, this reference with the textbook matrices.
    assert.ok(toReference > 50, `close to the definition: ${toReference.toFixed(1)} dB (input: ${toInput.toFixed(1)} dB)`);
    assert.ok(toReference > toInput + 15, `nearer the definition (${toReference.toFixed(1)} dB) than the input (${toInput.toFixed(1)} dB)`);
  });
}

test('as a pipeline step it gives the same pixels, and it is documented', async () => {
  const route = await postRaw(app, '/saturation?saturation=1.5&type=png', input, 'image/png');
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'saturation', params: { saturation: 1.5, type: 'png' } }]));
  const pipeline = await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png');
  assert.equal(pipeline.statusCode, 200, pipeline.body);
  assert.equal(psnr(await decode(pipeline.rawPayload), await decode(route.rawPayload)), Infinity);
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post?: { description?: string } }> };
  assert.match(document.paths['/saturation']?.post?.description ?? '', /imgproxy/);
});

test('hostile values are 400s: negative, over 100, NaN, huge, missing', async () => {
  for (const value of ['-1', '-0.5', '100.5', 'NaN', 'Infinity', '1e309', 'abc']) {
    assertProblem(await postRaw(app, `/saturation?saturation=${value}`, input, 'image/png'), 400, 'PP_INVALID_PARAM', /saturation/);
  }
  assertProblem(await postRaw(app, '/saturation', input, 'image/png'), 400, 'PP_MISSING_PARAM', /saturation/);
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'saturation', params: { saturation: 1e9 } }]));
  assertProblem(await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png'), 400, 'PP_INVALID_PARAM', /saturation/);
});
