/**
 * pixelpress registered into someone else's Fastify app: its routes under the prefix work as the service's do, the
 * host's routes, errors and 404s stay the host's, and a wrong option fails registration rather than a request.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { pixelpress, type PixelpressOptions } from '../../src/index.js';
import { multipart } from '../../testkit/http.js';
import { decode, photo, psnr, referenceRingBlur } from '../../testkit/images.js';

async function host(options: PixelpressOptions & { prefix?: string } = { prefix: '/img' }): Promise<FastifyInstance> {
  const app = Fastify();
  app.get('/', async () => ({ host: 'mine' }));
  app.get('/boom', async () => {
    throw new Error('the host failed');
  });
  await app.register(pixelpress, options);
  await app.ready();
  return app;
}

test('under /img the seed route blurs as Pillow does and imaginary routes work, with problem pages under the prefix', async () => {
  const app = await host({ prefix: '/img' });
  const input = await photo(160, 120);
  const form = await multipart({ img: input });
  const seed = await app.inject({ method: 'POST', url: '/img', payload: form.body, headers: form.headers });
  assert.equal(seed.statusCode, 200, seed.body);
  assert.equal(seed.headers['content-type'], 'image/jpeg');
  // The reference is computed here from the decoded input; only JPEG re-encoding separates the two.
  const db = psnr(await decode(seed.rawPayload), referenceRingBlur(await decode(input)));
  assert.ok(db > 38, `seed blur under the prefix is ${db.toFixed(1)} dB from Pillow's BLUR`);

  const resized = await app.inject({ method: 'POST', url: '/img/resize?width=80&type=png', payload: input, headers: { 'content-type': 'image/jpeg' } });
  assert.equal(resized.statusCode, 200, resized.body);
  const out = await decode(resized.rawPayload);
  assert.deepEqual([out.width, out.height], [80, 60]);

  const bad = await app.inject({ method: 'POST', url: '/img/resize?width=abc', payload: input, headers: { 'content-type': 'image/jpeg' } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'PP_INVALID_PARAM');
  assert.equal(bad.json().type, '/img/problems/PP_INVALID_PARAM');
  const page = await app.inject({ method: 'GET', url: bad.json().type });
  assert.equal(page.statusCode, 200);
  assert.equal(page.json().code, 'PP_INVALID_PARAM');

  const wrongMethod = await app.inject({ method: 'PUT', url: '/img/resize' });
  assert.equal(wrongMethod.statusCode, 405);
  assert.match(wrongMethod.json().detail, /PUT is not allowed on \/img\/resize/);
  const missing = await app.inject({ method: 'GET', url: '/img/nope' });
  assert.equal(missing.json().code, 'PP_NOT_FOUND');
  await app.close();
});

test('the host keeps its own routes, error handler and 404s', async () => {
  const app = await host({ prefix: '/img' });
  assert.deepEqual((await app.inject({ method: 'GET', url: '/' })).json(), { host: 'mine' });
  const boom = await app.inject({ method: 'GET', url: '/boom' });
  assert.equal(boom.statusCode, 500);
  // Fastify's own error shape, not pixelpress's problem+json: the plugin's handler is encapsulated.
  assert.match(boom.headers['content-type'] as string, /^application\/json/);
  assert.equal(boom.json().message, 'the host failed');
  const miss = await app.inject({ method: 'GET', url: '/elsewhere' });
  assert.equal(miss.statusCode, 404);
  assert.match(miss.headers['content-type'] as string, /^application\/json/);
  await app.close();
});

test('an API key guards the plugin\'s image routes only: the host\'s routes and the probes stay open', async () => {
  const app = await host({ prefix: '/img', access: { apiKey: 'secret-key' } });
  const input = await photo(64, 48);
  const refused = await app.inject({ method: 'POST', url: '/img/resize?width=10', payload: input, headers: { 'content-type': 'image/jpeg' } });
  assert.equal(refused.statusCode, 401);
  const allowed = await app.inject({ method: 'POST', url: '/img/resize?width=10', payload: input, headers: { 'content-type': 'image/jpeg', 'api-key': 'secret-key' } });
  assert.equal(allowed.statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/img/health' })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 200);
  await app.close();
});

test('/docs and the document live under the prefix, and "Try it out" calls the prefixed routes', async () => {
  const app = await host({ prefix: '/img' });
  const document = (await app.inject({ method: 'GET', url: '/img/openapi.json' })).json();
  assert.deepEqual(document.servers, [{ url: '/img' }]);
  assert.ok(document.paths['/resize'], 'paths stay relative to the server URL');
  const docs = await app.inject({ method: 'GET', url: '/img/docs/static/swagger-initializer.js' });
  assert.equal(docs.statusCode, 200);
  assert.match(docs.body, /"url":"\/img\/openapi\.json"/);
  await app.close();
  const without = await host({ prefix: '/img', docs: false });
  assert.equal((await without.inject({ method: 'GET', url: '/img/docs' })).statusCode, 404);
  assert.equal((await without.inject({ method: 'POST', url: '/img/resize?width=10', payload: await photo(32, 24), headers: { 'content-type': 'image/jpeg' } })).statusCode, 200);
  await without.close();
});

test('options are checked when the plugin is registered', async () => {
  const cases: [unknown, RegExp][] = [
    [{ limit: { maxUploadBytes: 1 } }, /unknown option "limit"; the options are limits, /],
    [{ limits: { maxUpload: 1 } }, /unknown option limits\.maxUpload; limits takes maxUploadBytes/],
    [{ limits: { maxUploadBytes: -1 } }, /Expected positive integer for limit maxUploadBytes/],
    [{ scheduler: { concurrency: 0 } }, /scheduler\.concurrency must be an integer of at least 1/],
    [{ upload: { minBytesPerSecond: 'fast' } }, /upload\.minBytesPerSecond must be an integer/],
    [{ decode: { svg: 'yes' } }, /decode\.svg must be true or false/],
    [{ access: { urlSignatureKey: 'short' } }, /32/],
    [{ access: { apiKey: 42 } }, /access\.apiKey must be a string/],
    [{ presets: { avatar: [{ operation: 'nope' }] } }, /nope/],
    [{ docs: 'no' }, /docs must be true or false/],
  ];
  for (const [options, message] of cases) {
    const app = Fastify();
    await assert.rejects(async () => {
      await app.register(pixelpress, options as PixelpressOptions);
      await app.ready();
    }, message, JSON.stringify(options));
    await app.close().catch(() => undefined);
  }
});
