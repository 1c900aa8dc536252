/** Bad input gets a clear 4xx problem+json with a stable code and a message naming the problem; never a 5xx. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { errorCatalogue } from '../../src/core/errors.js';
import { statusOf } from '../../src/http/problem.js';
import { buildMultipart } from '../../testkit/formats/multipart.js';
import { photo } from '../../testkit/images.js';
import { assertProblem, multipart, postFile, postRaw, testApp } from '../../testkit/http.js';

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

test('a multipart boundary over 200 characters is a 400 naming the cause, before the parser sees it', async () => {
  for (const length of [70, 200]) {
    const form = buildMultipart([{ name: 'img', data: jpeg, filename: 'a.jpg', contentType: 'image/jpeg' }], 'b'.repeat(length));
    const response = await app.inject({ method: 'POST', url: '/', payload: form.body, headers: { 'content-type': form.contentType } });
    assert.equal(response.statusCode, 200, `a ${length}-character boundary is served: ${response.body}`);
  }
  for (const length of [201, 300]) {
    // The body is never read: a bare `x`, as in the curl repro, gets the same answer as a well-formed body.
    const response = await app.inject({ method: 'POST', url: '/', payload: 'x', headers: { 'content-type': `multipart/form-data; boundary=${'b'.repeat(length)}` } });
    assertProblem(response, 400, 'PP_BAD_REQUEST', `Multipart boundary is too long: ${length} characters, over the limit of 200 (RFC 2046 allows 1 to 70)`);
  }
  const quoted = await app.inject({ method: 'POST', url: '/resize?width=10', payload: 'x', headers: { 'content-type': `multipart/form-data; charset=utf-8; boundary="${'q'.repeat(253)}"` } });
  assertProblem(quoted, 400, 'PP_BAD_REQUEST', /boundary is too long: 253 characters/);
});

test('/info checks its parameters like every image route: bad values 400, unknown names ignored', async () => {
  assertProblem(await postRaw(app, '/info?width=abc', jpeg), 400, 'PP_INVALID_PARAM', /for width but received "abc"/);
  assertProblem(await postRaw(app, '/info?type=bmp', jpeg), 400, 'PP_INVALID_PARAM', /for type but received "bmp"/);
  const ignored = await postRaw(app, '/info?nonsense=1&width=10', jpeg);
  assert.equal(ignored.statusCode, 200, ignored.body);
  assert.equal(ignored.json().width, 200);
});

describe('what Node and Fastify refuse themselves is problem+json too, over a real socket', () => {
  let served: FastifyInstance;
  let port = 0;
  before(async () => {
    served = await testApp();
    // Short timeouts for the slow-headers case, checked every 100 ms (Node's default check is every 30 s).
    served.server.headersTimeout = 500;
    served.server.requestTimeout = 1_000;
    (served.server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = 100;
    await served.listen({ host: '127.0.0.1', port: 0 });
    port = (served.server.address() as AddressInfo).port;
  });
  after(() => served.close());

  /** Writes `request` as it is and reads the answer until the server closes the connection (or 10 s pass). */
  const exchange = (request: string): Promise<{ head: string; body: string }> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(request));
      let text = '';
      // Every case here ends with the server closing the connection within about a second.
      const timer = setTimeout(() => reject(new Error(`no close within 10 s; got ${JSON.stringify(text)}`)), 10_000);
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('error', () => {});
      socket.on('close', () => {
        clearTimeout(timer);
        const split = text.indexOf('\r\n\r\n');
        resolve({ head: text.slice(0, split), body: text.slice(split + 4) });
      });
    });

  const assertRawProblem = (answer: { head: string; body: string }, status: number, code: string, detail: RegExp) => {
    assert.match(answer.head, new RegExp(`^HTTP/1\\.1 ${status} `), answer.head);
    assert.match(answer.head, /\r\ncontent-type: application\/problem\+json; charset=utf-8(\r\n|$)/i);
    assert.match(answer.head, /\r\nx-content-type-options: nosniff(\r\n|$)/i);
    assert.match(answer.head, /\r\nconnection: close(\r\n|$)/i);
    const problem = JSON.parse(answer.body) as Record<string, unknown>;
    assert.equal(problem.status, status);
    assert.equal(problem.code, code);
    assert.equal(problem.type, `/problems/${code}`);
    assert.match(String(problem.detail), detail);
    assert.equal(problem.message, problem.detail);
  };

  test('a malformed request line', async () => {
    assertRawProblem(await exchange('GARBAGE\r\n\r\n'), 400, 'PP_BAD_REQUEST', /^Malformed HTTP request: Invalid method encountered$/);
    assertRawProblem(await exchange('GET / HTTP/9.9x\r\nHost: a\r\n\r\n'), 400, 'PP_BAD_REQUEST', /^Malformed HTTP request/);
  });

  test('a bad header, duplicate lengths and oversized headers', async () => {
    assertRawProblem(await exchange('GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n'), 400, 'PP_BAD_REQUEST', /^Malformed HTTP request: Invalid header token$/);
    assertRawProblem(await exchange('POST /resize HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx'), 400, 'PP_BAD_REQUEST', /Content-Length/);
    assertRawProblem(await exchange(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 400, 'PP_BAD_REQUEST', /^The request headers are larger than the server accepts$/);
  });

  test('an invalid %-escape in the URL, without echoing the URL (an API key may be in it)', async () => {
    for (const target of ['/%zz?key=s3cret', '/resize%zz?sign=s3cret']) {
      const answer = await exchange(`GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
      assertRawProblem(answer, 400, 'PP_BAD_REQUEST', /^The request URL is not valid/);
      assert.doesNotMatch(answer.body, /s3cret/);
    }
  });

  test('an HTTP/1.1 request without Host', async () => {
    assertRawProblem(await exchange('GET /health HTTP/1.1\r\nConnection: close\r\n\r\n'), 400, 'PP_BAD_REQUEST', /^HTTP\/1\.1 requests need a Host header$/);
    const old = await exchange('GET /health HTTP/1.0\r\n\r\n');
    assert.match(old.head, /^HTTP\/1\.1 200 /, 'HTTP/1.0 has no Host requirement');
  });

  test('headers that never finish: 408 when Node\'s timeout ends them', async () => {
    assertRawProblem(await exchange('GET / HTTP/1.1\r\nHost: a\r\nX-Slow: '), 408, 'PP_UPLOAD_TOO_SLOW', /did not arrive within the time limit/);
  });
});
