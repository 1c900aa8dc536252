/** Access control: imaginary's API key and URL signatures, the CORS allowlist, and the always-on security headers. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { after, before, describe, mock, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { photo } from '../../testkit/images.js';
import { assertProblem, postRaw, testApp } from '../../testkit/http.js';

// imaginary's README example (section 6.2 of the reference): key, path and query.
const VECTOR_KEY = '4f46feebafc4b5e988f131c4ff8b5997';
const VECTOR_QUERY = 'file=image.jpg&height=200&type=jpeg&width=300';
// HMAC-SHA256(key, "/resize" + query), base64url without padding, as computed by OpenSSL and Python's hmac too:
//   printf '%s' '/resize<query>' | openssl dgst -sha256 -hmac <key> -binary | base64 | tr '+/' '-_' | tr -d '='
const VECTOR_SIGN = 'ruEWRoFO-ic-L38vTsjqIYE6DLZ532CTaZXOh1gwuVo';
// The value the reference lists for this vector; it is not the HMAC of the string imaginary documents signing.
const REFERENCE_LISTED_SIGN = 'fJ6cxKpkrHx6crTeplArGYUIIz4q_Q0HFjR3hH6DkCQ';

const API_KEY = 'test-api-key-0123456789';
const SIGNATURE_KEY = 'k'.repeat(32);

let jpeg: Buffer;
before(async () => {
  jpeg = await photo(64, 48);
});


/** Signs the way imaginary's clients do: HMAC-SHA256 of path + the already sorted and Go-encoded query. */
function sign(key: string, path: string, encodedQuery: string): string {
  return createHmac('sha256', key).update(path + encodedQuery).digest('base64url');
}

/** Counts node:crypto timingSafeEqual calls made while `work` runs (the plugin's named import is a live binding). */
async function countTimingSafeEqual(work: () => Promise<void>): Promise<number> {
  const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const spy = mock.method(crypto, 'timingSafeEqual');
  syncBuiltinESMExports();
  try {
    await work();
    return spy.mock.callCount();
  } finally {
    spy.mock.restore();
    syncBuiltinESMExports();
  }
}

describe('options are validated at registration', () => {
  test('a URL signature key shorter than 32 characters is refused, without echoing it', async () => {
    await assert.rejects(buildApp({ access: { urlSignatureKey: 'short-secret' } }), (error: Error) => {
      assert.match(error.message, /URL signature key must be at least 32 characters long but has 12/);
      assert.doesNotMatch(error.message, /short-secret/);
      return true;
    });
    const app = await testApp({ access: { urlSignatureKey: 'x'.repeat(32) } });
    await app.close();
  });

  test('CORS origins must be * or scheme://host[:port]', async () => {
    for (const origin of ['https://app.example/', 'app.example', 'https://app.example/path', '']) {
      await assert.rejects(buildApp({ access: { corsOrigins: [origin] } }), /CORS origin must be \* or scheme:\/\/host\[:port\]/, origin);
    }
    const app = await testApp({ access: { corsOrigins: ['https://app.example', 'http://localhost:3000', '*'] } });
    await app.close();
  });

  test('empty values leave each part off (unset environment variables)', async () => {
    const app = await testApp({ access: { apiKey: '', urlSignatureKey: '', corsOrigins: [] } });
    const response = await postRaw(app, '/resize?width=10', jpeg, 'image/jpeg', { origin: 'https://app.example' });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers['access-control-allow-origin'], undefined);
    await app.close();
  });
});

describe('API key', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await testApp({ access: { apiKey: API_KEY } });
  });
  after(() => app.close());

  test('missing or wrong key: 401 on every route but the docs and probes, even unknown ones', async () => {
    for (const url of ['/', '/problems/PP_UNAUTHORIZED', '/metrics', '/no-such-route']) {
      assertProblem(await app.inject({ url }), 401, 'PP_UNAUTHORIZED', 'Invalid or missing API key');
    }
    assertProblem(await postRaw(app, '/resize?width=10', jpeg), 401, 'PP_UNAUTHORIZED', 'Invalid or missing API key');
    assertProblem(await postRaw(app, '/resize?width=10', jpeg, 'image/jpeg', { 'api-key': 'wrong' }), 401, 'PP_UNAUTHORIZED', 'Invalid or missing API key');
    assertProblem(await postRaw(app, '/resize?width=10&key=wrong', jpeg), 401, 'PP_UNAUTHORIZED', 'Invalid or missing API key');
    assertProblem(await postRaw(app, '/resize?width=10&key=', jpeg), 401, 'PP_UNAUTHORIZED', 'Invalid or missing API key');
    // A prefix or an extension of the key is not the key.
    assertProblem(await postRaw(app, '/resize?width=10', jpeg, 'image/jpeg', { 'api-key': API_KEY.slice(0, -1) }), 401, 'PP_UNAUTHORIZED', 'Invalid or missing API key');
    assertProblem(await postRaw(app, '/resize?width=10', jpeg, 'image/jpeg', { 'api-key': `${API_KEY}x` }), 401, 'PP_UNAUTHORIZED', 'Invalid or missing API key');
  });

  test('the API-Key header (any case) or, when it is absent or empty, ?key= lets the request through', async () => {
    for (const header of ['API-Key', 'api-key', 'API-KEY']) {
      const response = await postRaw(app, '/resize?width=10', jpeg, 'image/jpeg', { [header]: API_KEY });
      assert.equal(response.statusCode, 200, `${header}: ${response.body}`);
      assert.equal(response.headers['image-width'], '10');
    }
    assert.equal((await postRaw(app, `/resize?width=10&key=${API_KEY}`, jpeg)).statusCode, 200);
    assert.equal((await postRaw(app, `/resize?width=10&key=${API_KEY}`, jpeg, 'image/jpeg', { 'api-key': '' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/', headers: { 'api-key': API_KEY } })).statusCode, 200);
    assert.equal((await app.inject({ url: '/docs', headers: { 'api-key': API_KEY } })).statusCode, 200);
  });

  test('a wrong header is not rescued by a right ?key= (imaginary reads the query only without the header)', async () => {
    assertProblem(await postRaw(app, `/resize?width=10&key=${API_KEY}`, jpeg, 'image/jpeg', { 'api-key': 'wrong' }), 401, 'PP_UNAUTHORIZED', 'Invalid or missing API key');
  });

  test('the API description (/openapi.json, /docs and its assets) stays open so a browser can load Swagger UI', async () => {
    assert.equal((await app.inject({ url: '/openapi.json' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/docs/' })).statusCode, 200);
    const assets = (await app.inject({ url: '/docs/' })).body.match(/\.\/static\/[\w.-]+\.js/g) ?? [];
    assert.ok(assets.length > 0);
    for (const asset of assets) assert.equal((await app.inject({ url: `/docs/${asset.slice(2)}` })).statusCode, 200, asset);
    // Trying an image route from the docs still needs the key.
    assertProblem(await app.inject({ method: 'POST', url: '/resize?width=10' }), 401, 'PP_UNAUTHORIZED', 'Invalid or missing API key');
  });

  test('GET and HEAD /health and /ready stay open for load balancer probes', async () => {
    for (const method of ['GET', 'HEAD'] as const) {
      for (const url of ['/health', '/ready']) {
        assert.equal((await app.inject({ method, url })).statusCode, 200, `${method} ${url}`);
      }
    }
    assertProblem(await app.inject({ method: 'POST', url: '/health' }), 401, 'PP_UNAUTHORIZED', 'Invalid or missing API key');
  });

  test('the key is compared with crypto.timingSafeEqual, never ==', async () => {
    const calls = await countTimingSafeEqual(async () => {
      assert.equal((await app.inject({ url: '/', headers: { 'api-key': API_KEY } })).statusCode, 200);
      assert.equal((await app.inject({ url: '/', headers: { 'api-key': 'a-different-length' } })).statusCode, 401);
    });
    assert.equal(calls, 2, 'one constant-time comparison per request, whatever the length of the given key');
  });

  test('without a configured key, any key parameter is ignored (Nextcloud sends &key=)', async () => {
    const open = await testApp();
    const operations = encodeURIComponent(JSON.stringify([{ operation: 'autorotate' }, { operation: 'fit', params: { width: 32, height: 32, type: 'jpeg' } }]));
    for (const key of ['', 'anything']) {
      const response = await postRaw(open, `/pipeline?operations=${operations}&key=${key}`, jpeg, 'image/jpeg');
      assert.equal(response.statusCode, 200, response.body);
    }
    assert.equal((await postRaw(open, '/resize?width=10', jpeg, 'image/jpeg', { 'api-key': 'anything' })).statusCode, 200);
    await open.close();
  });
});

describe('URL signatures', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await testApp({ access: { urlSignatureKey: VECTOR_KEY } });
  });
  after(() => app.close());

  test("imaginary's example vector passes the signature check (then fails for having no body)", async () => {
    assert.equal(sign(VECTOR_KEY, '/resize', VECTOR_QUERY), VECTOR_SIGN);
    const response = await app.inject({ method: 'POST', url: `/resize?${VECTOR_QUERY}&sign=${VECTOR_SIGN}` });
    assertProblem(response, 400, 'PP_MISSING_FILE', 'No image in the request: POST multipart/form-data with field img (or file), or the raw image bytes');
  });

  test('the value the reference lists for the vector is not its HMAC, and is refused', async () => {
    assertProblem(await app.inject({ method: 'POST', url: `/resize?${VECTOR_QUERY}&sign=${REFERENCE_LISTED_SIGN}` }), 403, 'PP_SIGNATURE_MISMATCH', 'URL signature mismatch');
  });

  test('where sign sits and the order of the other parameters do not matter', async () => {
    for (const query of [
      `sign=${VECTOR_SIGN}&${VECTOR_QUERY}`,
      `width=300&sign=${VECTOR_SIGN}&type=jpeg&height=200&file=image.jpg`,
      `type=jpeg&width=300&file=image.jpg&height=200&sign=${VECTOR_SIGN}`,
    ]) {
      assertProblem(await app.inject({ method: 'POST', url: `/resize?${query}` }), 400, 'PP_MISSING_FILE', 'No image in the request: POST multipart/form-data with field img (or file), or the raw image bytes');
    }
  });

  test('the query is re-encoded as Go does: %20 and + are the same space, escapes are normalised', async () => {
    const signature = sign(VECTOR_KEY, '/resize', 'file=large+image.jpg&width=300');
    for (const file of ['large%20image.jpg', 'large+image.jpg', 'l%61rge+image%2Ejpg']) {
      assertProblem(await app.inject({ method: 'POST', url: `/resize?width=300&file=${file}&sign=${signature}` }), 400, 'PP_MISSING_FILE', 'No image in the request: POST multipart/form-data with field img (or file), or the raw image bytes');
    }
    // Repeated values keep their order; reserved characters (a raw ; too) are %XX-escaped in upper case.
    const repeated = sign(VECTOR_KEY, '/flip', 'a=2&a=1&text=x%2Fy%3A%2A%3B');
    assert.equal((await app.inject({ method: 'POST', url: `/flip?text=x/y:*;&a=2&a=1&sign=${repeated}` })).json().code, 'PP_MISSING_FILE');
    assert.equal((await app.inject({ method: 'POST', url: `/flip?text=x/y:*;&a=1&a=2&sign=${repeated}` })).json().code, 'PP_SIGNATURE_MISMATCH');
  });

  test('a signed request is served', async () => {
    const signature = sign(VECTOR_KEY, '/resize', 'type=png&width=10');
    const response = await postRaw(app, `/resize?width=10&type=png&sign=${signature}`, jpeg);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers['content-type'], 'image/png');
    assert.equal(response.headers['image-width'], '10');
  });

  test('missing, empty or wrong sign, or a changed parameter: 403', async () => {
    const mismatch = (url: string) => app.inject({ method: 'POST', url }).then((response) => assertProblem(response, 403, 'PP_SIGNATURE_MISMATCH', 'URL signature mismatch'));
    await mismatch(`/resize?${VECTOR_QUERY}`);
    await mismatch(`/resize?${VECTOR_QUERY}&sign=`);
    await mismatch(`/resize?${VECTOR_QUERY.replace('300', '301')}&sign=${VECTOR_SIGN}`);
    await mismatch(`/resize?${VECTOR_QUERY}&quality=1&sign=${VECTOR_SIGN}`);
    await mismatch(`/crop?${VECTOR_QUERY}&sign=${VECTOR_SIGN}`);
    await mismatch(`/resize?${VECTOR_QUERY}&sign=${VECTOR_SIGN.slice(0, -1)}`);
    await mismatch(`/resize?${VECTOR_QUERY}&sign=${sign('another-key-of-at-least-32-chars!', '/resize', VECTOR_QUERY)}`);
    // Pairs Go's parser drops (a raw ;, a bad escape) would reach the route unsigned if dropped here too: refused.
    await mismatch(`/resize?${VECTOR_QUERY}&text=a;b&sign=${VECTOR_SIGN}`);
    await mismatch(`/resize?${VECTOR_QUERY}&text=100%&sign=${VECTOR_SIGN}`);
  });

  test('a padded or non-base64url sign: 400', async () => {
    const padded = Buffer.from(VECTOR_SIGN, 'base64url').toString('base64url') + '=';
    const standard = Buffer.from(VECTOR_SIGN, 'base64url').toString('base64');
    for (const value of [padded, standard.replace(/=+$/, ''), 'abc!', 'a', '==']) {
      assertProblem(await app.inject({ method: 'POST', url: `/resize?${VECTOR_QUERY}&sign=${encodeURIComponent(value)}` }), 400, 'PP_INVALID_SIGNATURE', 'Invalid URL signature');
    }
  });

  test('every image route needs it, whatever the method; routes that serve no image do not', async () => {
    for (const url of ['/', '/info', '/pipeline', '/resize?width=10']) {
      assertProblem(await postRaw(app, url, jpeg), 403, 'PP_SIGNATURE_MISMATCH', 'URL signature mismatch');
    }
    // As in imaginary, the signature is checked before the method.
    assertProblem(await app.inject({ method: 'GET', url: '/resize?width=10' }), 403, 'PP_SIGNATURE_MISMATCH', 'URL signature mismatch');
    for (const url of ['/', '/health', '/ready', '/openapi.json', '/docs', '/docs/json', '/problems/PP_SIGNATURE_MISMATCH', '/metrics']) {
      assert.equal((await app.inject({ url })).statusCode, 200, url);
    }
    // Nothing is served at an unknown URL, so it answers 404 rather than asking for a signature.
    assert.equal((await postRaw(app, '/no-such-route', jpeg)).json().code, 'PP_NOT_FOUND');
  });

  test('the signature is compared with crypto.timingSafeEqual', async () => {
    const calls = await countTimingSafeEqual(async () => {
      assert.equal((await app.inject({ method: 'POST', url: `/resize?${VECTOR_QUERY}&sign=${VECTOR_SIGN}` })).json().code, 'PP_MISSING_FILE');
      assert.equal((await app.inject({ method: 'POST', url: `/resize?${VECTOR_QUERY}&sign=${REFERENCE_LISTED_SIGN}` })).json().code, 'PP_SIGNATURE_MISMATCH');
    });
    assert.equal(calls, 2);
  });

  test('with an API key too: the signature is checked first (as in imaginary) and covers ?key=', async () => {
    const both = await testApp({ access: { apiKey: API_KEY, urlSignatureKey: SIGNATURE_KEY } });
    assertProblem(await postRaw(both, '/resize?width=10', jpeg), 403, 'PP_SIGNATURE_MISMATCH', 'URL signature mismatch');
    assertProblem(await postRaw(both, `/resize?width=10&sign=${sign(SIGNATURE_KEY, '/resize', 'width=10')}`, jpeg), 401, 'PP_UNAUTHORIZED', 'Invalid or missing API key');
    const withKey = `key=${API_KEY}&width=10`;
    assert.equal((await postRaw(both, `/resize?${withKey}&sign=${sign(SIGNATURE_KEY, '/resize', withKey)}`, jpeg)).statusCode, 200);
    // A key added after signing breaks the signature.
    assertProblem(await postRaw(both, `/resize?width=10&key=${API_KEY}&sign=${sign(SIGNATURE_KEY, '/resize', 'width=10')}`, jpeg), 403, 'PP_SIGNATURE_MISMATCH', 'URL signature mismatch');
    await both.close();
  });
});

describe('CORS', () => {
  const origin = 'https://app.example';
  const preflight = (app: FastifyInstance, from: string) => app.inject({
    method: 'OPTIONS',
    url: '/resize?width=10',
    headers: { origin: from, 'access-control-request-method': 'POST', 'access-control-request-headers': 'api-key,content-type' },
  });

  test('off by default: no CORS headers and no preflight', async () => {
    const app = await testApp();
    const response = await app.inject({ url: '/', headers: { origin } });
    assert.equal(response.headers['access-control-allow-origin'], undefined);
    const options = await preflight(app, origin);
    assert.notEqual(options.statusCode, 204);
    assert.equal(options.headers['access-control-allow-origin'], undefined);
    await app.close();
  });

  describe('with an allowlist, an API key and URL signatures', () => {
    let app: FastifyInstance;
    before(async () => {
      app = await testApp({ access: { corsOrigins: [origin, 'http://localhost:3000'], apiKey: API_KEY, urlSignatureKey: SIGNATURE_KEY } });
    });
    after(() => app.close());

    test('the preflight works without the key or a signature (browsers send neither on it)', async () => {
      const response = await preflight(app, origin);
      assert.equal(response.statusCode, 204, response.body);
      assert.equal(response.headers['access-control-allow-origin'], origin);
      assert.equal(response.headers['access-control-allow-methods'], 'GET, POST');
      assert.equal(response.headers['access-control-allow-headers'], 'Origin, Accept, Content-Type, API-Key');
      assert.equal(response.headers['access-control-max-age'], '600');
      assert.match(String(response.headers.vary), /Origin/);
    });

    test('the actual request gets the origin, the exposed size headers and Vary: Origin next to Vary: Accept', async () => {
      const query = 'type=auto&width=10';
      const response = await postRaw(app, `/resize?${query}&sign=${sign(SIGNATURE_KEY, '/resize', query)}`, jpeg, 'image/jpeg', { origin, 'api-key': API_KEY, accept: 'image/webp' });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.headers['access-control-allow-origin'], origin);
      assert.equal(response.headers['access-control-expose-headers'], 'Image-Width, Image-Height, PP-Ignored-Params');
      assert.equal(response.headers['access-control-allow-credentials'], undefined);
      const vary = String(response.headers.vary).split(/\s*,\s*/);
      assert.ok(vary.includes('Accept') && vary.includes('Origin'), `Vary: ${response.headers.vary}`);
    });

    test('a refusal carries CORS headers, so the browser app can read why', async () => {
      const response = await app.inject({ url: '/', headers: { origin } });
      assertProblem(response, 401, 'PP_UNAUTHORIZED', 'Invalid or missing API key');
      assert.equal(response.headers['access-control-allow-origin'], origin);
    });

    test('an origin not on the list gets no Access-Control-Allow-Origin', async () => {
      assert.equal((await preflight(app, 'https://evil.example')).headers['access-control-allow-origin'], undefined);
      const response = await app.inject({ url: '/', headers: { origin: 'https://evil.example', 'api-key': API_KEY } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['access-control-allow-origin'], undefined);
      assert.match(String(response.headers.vary), /Origin/);
    });
  });

  test('* allows every origin', async () => {
    const app = await testApp({ access: { corsOrigins: ['*'] } });
    assert.equal((await app.inject({ url: '/', headers: { origin } })).headers['access-control-allow-origin'], '*');
    assert.equal((await preflight(app, 'https://anyone.example')).statusCode, 204);
    await app.close();
  });
});

describe('security headers (always on)', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await testApp();
  });
  after(() => app.close());

  test('X-Content-Type-Options: nosniff on every response, errors and images included', async () => {
    const responses = [
      await app.inject({ url: '/' }),
      await app.inject({ url: '/no-such-route' }),
      await postRaw(app, '/resize?width=abc', jpeg),
      await postRaw(app, '/resize?width=10', jpeg),
      await app.inject({ url: '/docs' }),
      await app.inject({ url: '/docs/static/swagger-ui-bundle.js' }),
    ];
    for (const response of responses) assert.equal(response.headers['x-content-type-options'], 'nosniff', `${response.statusCode} ${response.headers['content-type']}`);
  });

  test('HTML gets a Content-Security-Policy that Swagger UI works under; other types get none', async () => {
    const docs = await app.inject({ url: '/docs' });
    assert.equal(docs.statusCode, 200);
    assert.match(String(docs.headers['content-type']), /^text\/html/);
    const csp = String(docs.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'no inline or eval scripts');
    assert.match(csp, /img-src 'self' data: blob:/, 'Swagger UI shows responses as blob: images');
    assert.match(csp, /style-src 'self' 'unsafe-inline'/);
    assert.match(csp, /frame-ancestors 'none'/);
    // script-src 'self' is enough only because the page has no inline script.
    assert.doesNotMatch(docs.body, /<script(?![^>]*\bsrc=)[^>]*>/i);
    assert.equal((await app.inject({ url: '/' })).headers['content-security-policy'], undefined);
  });
});
