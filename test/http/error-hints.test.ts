/** Error messages point at the fix: which pipeline step, where `operations` goes, curl's -d, the formats accepted. */
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { assertProblem, multipart, postRaw, testApp } from '../../testkit/http.js';
import { photo } from '../../testkit/images.js';

let app: FastifyInstance;
let jpeg: Buffer;
before(async () => {
  app = await testApp();
  jpeg = await photo(64, 48);
});
after(() => app.close());

test('a failing pipeline step is named by its index and operation', async () => {
  const operations = encodeURIComponent(JSON.stringify([{ operation: 'crop', params: { width: 100 } }, { operation: 'fit', params: { width: 50 } }]));
  assertProblem(await postRaw(app, `/pipeline?operations=${operations}`, jpeg, 'image/jpeg'), 400, 'PP_MISSING_PARAM', 'Step 2 (fit): Missing required params: height, width');
  const badValue = encodeURIComponent(JSON.stringify([{ operation: 'resize', params: { width: 'abc' } }]));
  assertProblem(await postRaw(app, `/pipeline?operations=${badValue}`, jpeg, 'image/jpeg'), 400, 'PP_INVALID_PARAM', /^Step 1 \(resize\): Expected .* for width/);
});

test('a step failing on the pixels is named too, in this process and in the isolated child', async () => {
  for (const type of ['png', 'avif']) {
    // The area fits the upload (64x48) but not the 32x24 image step 1 leaves: only running the pipeline finds it.
    const steps = [{ operation: 'resize', params: { width: 32 } }, { operation: 'extract', params: { areawidth: 40, areaheight: 10, type } }];
    const response = await postRaw(app, `/pipeline?operations=${encodeURIComponent(JSON.stringify(steps))}`, jpeg, 'image/jpeg');
    assertProblem(response, 400, response.json().code, /^Step 2 \(extract\): /);
  }
});

test('operations sent as a form field: the message says it belongs in the query string', async () => {
  const form = await multipart({ operations: '[{"operation":"flip"}]', file: jpeg });
  const response = await app.inject({ method: 'POST', url: '/pipeline', payload: form.body, headers: form.headers });
  assertProblem(response, 400, 'PP_INVALID_PIPELINE', 'Missing required param: operations (a JSON array in the query string, not a form field)');
});

test('a body sent like curl -d (form-encoded, newlines dropped) gets a hint to use --data-binary', async () => {
  const mangled = Buffer.from(jpeg.toString('latin1').replace(/[\r\n]/g, ''), 'latin1');
  const response = await postRaw(app, '/resize?width=10', mangled, 'application/x-www-form-urlencoded');
  assertProblem(response, response.statusCode, response.json().code, /curl --data-binary @file/);
  // The same bytes with an honest type get no hint.
  const plain = await postRaw(app, '/resize?width=10', mangled, 'application/octet-stream');
  assertProblem(plain, plain.statusCode, plain.json().code, /^(?![\s\S]*--data-binary)/);
});

test('the 415 for a file that is not an image names the formats accepted', async () => {
  assertProblem(await postRaw(app, '/resize?width=10', Buffer.from('hello, this is text'), 'image/png'), 415, 'PP_UNSUPPORTED_MEDIA', /JPEG, PNG, WebP, AVIF, GIF, TIFF, HEIF, SVG, PDF, BMP or ICO/);
});
