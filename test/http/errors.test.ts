/** Bad input gets a clear 4xx problem+json with a stable code and a message naming the problem; never a 5xx. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { errorCatalogue } from '../../src/core/errors.js';
import { statusOf } from '../../src/http/problem.js';
import { photo } from '../helpers/images.js';
import { assertProblem, multipart, postFile, postRaw, testApp } from '../helpers/http.js';

let app: FastifyInstance;
let jpeg: Buffer;
before(async () => {
  app = await testApp({ limits: { maxUploadBytes: 2 * 1024 * 1024, maxInputPixels: 4_000_000 } });
  jpeg = await photo(200, 150);
});
after(() => app.close());


test('missing file or field: 400', async () => {
  const onlyText = await multipart({ note: 'hello' });
  assertProblem(await app.inject({ method: 'POST', url: '/', payload: onlyText.body, headers: onlyText.headers }), 400, 'PP_MISSING_FILE', /No file in the multipart body/);
  assertProblem(await postFile(app, '/', 'upload', jpeg), 400, 'PP_MISSING_FILE', /field img, file or image but received field "upload"/);
  assertProblem(await postFile(app, '/', 'img', Buffer.alloc(0)), 400, 'PP_MISSING_FILE', /empty/);
  assertProblem(await app.inject({ method: 'POST', url: '/resize?width=10' }), 400, 'PP_MISSING_FILE', /No image in the request/);
});

test('bad parameter: 400 naming the parameter and the value', async () => {
  assertProblem(await postRaw(app, '/resize?width=abc', jpeg), 400, 'PP_INVALID_PARAM', /for width but received "abc"/);
  assertProblem(await postRaw(app, '/convert?type=bmp', jpeg), 400, 'PP_INVALID_PARAM', /for type but received "bmp"/);
  assertProblem(await postRaw(app, '/resize', jpeg), 400, 'PP_MISSING_PARAM', /^Missing required param: height or width$/);
  assertProblem(await postRaw(app, '/extract?areawidth=500&areaheight=10', jpeg), 400, 'PP_INVALID_PARAM', /inside the 200x150 image/);
  // Like imaginary, a bad value fails even on an endpoint that ignores the parameter.
  assertProblem(await postRaw(app, '/flip?sigma=x', jpeg), 400, 'PP_INVALID_PARAM', /for sigma but received "x"/);
});

test('bad pipelines: 400 with what is wrong', async () => {
  const cases: [string, RegExp][] = [
    ['[]', /Missing or invalid pipeline operations JSON/],
    ['{"operation":"crop"}', /expected a JSON array/],
    ['[{"operation":"crop"', /not valid JSON/],
    ['[{"operation":"nope"}]', /Unsupported operation name: nope/],
    ['[{"operation":"crop","extra":1}]', /unknown field "extra"/],
    [JSON.stringify(new Array(11).fill({ operation: 'flip' })), /Maximum allowed pipeline operations exceeded: 11 > 10/],
  ];
  for (const [ops, detail] of cases) {
    assertProblem(await postRaw(app, `/pipeline?operations=${encodeURIComponent(ops)}`, jpeg), 400, 'PP_INVALID_PIPELINE', detail);
  }
  assertProblem(await postRaw(app, '/pipeline?operations=' + encodeURIComponent('[{"operation":"fit","params":{"width":"x"}}]'), jpeg), 400, 'PP_INVALID_PARAM', /for width but received "x"/);
  assertProblem(await postRaw(app, '/pipeline', jpeg), 400, 'PP_INVALID_PIPELINE', /operations/);
});

test('not an image, or an unsupported format: 415', async () => {
  assertProblem(await postFile(app, '/', 'img', Buffer.from('hello, this is text')), 415, 'PP_UNSUPPORTED_MEDIA', /not an image/);
  assertProblem(await postRaw(app, '/resize?width=10', Buffer.from('<html><body>hi</body></html>'), 'image/png'), 415, 'PP_UNSUPPORTED_MEDIA', /not an image/);
  const bmp = Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]);
  assertProblem(await postFile(app, '/', 'img', bmp), 415, 'PP_UNSUPPORTED_MEDIA', /not an image/);
  assertProblem(await app.inject({ method: 'POST', url: '/resize?width=10', payload: { a: 1 } }), 415, 'PP_UNSUPPORTED_MEDIA', /not an image/);
});

test('undecodable image: 422', async () => {
  const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
  assertProblem(await postFile(app, '/', 'img', truncated), 422, 'PP_UNDECODABLE', /could not be decoded/);
  const png = await photo(64, 64, 'png');
  const corrupt = Buffer.from(png);
  corrupt.fill(0x41, 100, 400);
  assertProblem(await postRaw(app, '/resize?width=10', corrupt), 422, 'PP_UNDECODABLE', /could not be decoded/);
});

test('over the byte limit: 413, multipart and raw', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024, 7);
  assertProblem(await postFile(app, '/', 'img', big), 413, 'PP_PAYLOAD_TOO_LARGE', /.+/);
  assertProblem(await postRaw(app, '/resize?width=10', big), 413, 'PP_PAYLOAD_TOO_LARGE', /.+/);
});

test('over the pixel limit: 413 from the header, before decoding', async () => {
  // 3000x3000 = 9 MP against a 4 MP limit; the file itself is small.
  const huge = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#808080' } }).png().toBuffer();
  assertProblem(await postFile(app, '/', 'img', huge), 413, 'PP_TOO_MANY_PIXELS', /3000x3000 \(9000000 pixels\), over the limit of 4000000/);
});

test('output over the limits: 413', async () => {
  assertProblem(await postRaw(app, '/zoom?factor=64', jpeg), 413, 'PP_OUTPUT_TOO_LARGE', /13000x9750/);
});

test('wrong methods and paths', async () => {
  const get = await app.inject({ method: 'GET', url: '/resize?width=10' });
  assertProblem(get, 405, 'PP_METHOD_NOT_ALLOWED', /POST the image instead/);
  assert.equal(get.headers.allow, 'POST');
  const deleted = await app.inject({ method: 'DELETE', url: '/resize' });
  assertProblem(deleted, 405, 'PP_METHOD_NOT_ALLOWED', /DELETE is not allowed on \/resize/);
  assert.equal(deleted.headers.allow, 'POST');
  const put = await app.inject({ method: 'PUT', url: '/' });
  assertProblem(put, 405, 'PP_METHOD_NOT_ALLOWED', /PUT is not allowed on \/$/);
  assert.equal(put.headers.allow, 'GET, POST');
  assert.equal((await app.inject({ method: 'POST', url: '/metrics' })).headers.allow, 'GET');
  assertProblem(await app.inject({ method: 'GET', url: '/nope' }), 404, 'PP_NOT_FOUND', /No route GET \/nope/);
});

test('a broken multipart boundary is a 400, and the service keeps serving', async () => {
  const form = await multipart({ img: jpeg });
  const broken = form.body.subarray(0, form.body.length - 60);
  const response = await app.inject({ method: 'POST', url: '/', payload: broken, headers: form.headers });
  assert.ok(response.statusCode >= 400 && response.statusCode < 500, `got ${response.statusCode}: ${response.body}`);
  assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
  const ok = await postFile(app, '/', 'img', jpeg);
  assert.equal(ok.statusCode, 200);
});

test('every error code has a status, a description, a problem page, and a row in the README', async () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const [code, entry] of Object.entries(errorCatalogue)) {
    assert.ok(statusOf[code as keyof typeof statusOf] >= 400, code);
    assert.ok(entry.description.length > 20, code);
    assert.ok(readme.includes(`\`${code}\``), `README documents ${code}`);
    const page = await app.inject({ method: 'GET', url: `/problems/${code}` });
    assert.equal(page.json().code, code);
  }
});
