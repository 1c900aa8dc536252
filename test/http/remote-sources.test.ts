/**
 * Remote sources: off by default (and saying how to turn them on), and with the guard on, every SSRF attack refused
 * with its own code, counted in /metrics, without the internal server ever being reached. Local servers only: the
 * "public" origin is 127.0.0.2, let through by the guard's test switch; 127.0.0.1 plays the internal service.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import SwaggerParser from '@apidevtools/swagger-parser';
import sharp from 'sharp';
import { assertProblem, postRaw, testApp } from '../../testkit/http.js';
import { decode, photo, psnr } from '../../testkit/images.js';
import { counter, fakeDns, internalAddress, publicAddress, remoteApp, sendImage, startOrigin, type Origin } from '../../testkit/remote.js';

const LIMIT = 256 * 1024;
let image: Buffer;
let origin: Origin;
let internal: Origin;
let app: FastifyInstance;
let dns: ReturnType<typeof fakeDns>;
let pub: string;

before(async () => {
  image = await photo(320, 240, 'png');
  internal = await startOrigin(internalAddress, { '/secret': sendImage(image) });
  origin = await startOrigin(publicAddress, {
    '/photo.png': sendImage(image),
    '/to-internal': (_req, res) => res.writeHead(302, { location: `http://${internalAddress}:${internal.port}/secret` }).end(),
    '/to-metadata': (_req, res) => res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
    '/to-file': (_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end(),
    '/loop': (_req, res) => res.writeHead(302, { location: '/loop' }).end(),
    '/hop': (_req, res) => res.writeHead(307, { location: '/photo.png' }).end(),
    '/gone': (_req, res) => res.writeHead(404).end('gone'),
    '/teapot': (_req, res) => res.writeHead(204).end(),
    // Declares more than the limit: refused on the header, before the body.
    '/declared-huge': (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(LIMIT * 100) });
      res.write(image);
    },
    // Declares nothing (chunked) and never stops: cut when the limit is crossed.
    '/endless': (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      const chunk = Buffer.alloc(16 * 1024, 7);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) origin.written += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    },
    // Declares a small body but keeps sending: only what was declared is ever taken.
    '/lying': (req, res) => {
      const socket = req.socket;
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n`);
      socket.write(Buffer.alloc(LIMIT * 4, 9));
      socket.end();
    },
  });
  pub = `http://images.test:${origin.port}`;
  dns = fakeDns({
    'images.test': [publicAddress],
    'internal.test': [internalAddress],
    'metadata.test': ['169.254.169.254'],
    // Rebinding: the first answer (the check) is the allowed origin, every later one (the connection) is internal.
    'rebind.test': [publicAddress, internalAddress],
    'rebind-meta.test': [publicAddress, '169.254.169.254'],
    'hang.test': [],
  });
  app = await remoteApp({ maxBytes: LIMIT, maxRedirects: 2, timeoutSeconds: 120 }, dns.lookup);
});

after(async () => {
  await app.close();
  await origin.close();
  await internal.close();
});

const get = (url: string, query = 'width=64&type=png') => app.inject({ method: 'GET', url: `/resize?${query}&url=${encodeURIComponent(url)}` });

async function assertRefused(url: string, status: number, code: string, detail: RegExp) {
  const before = await counter(app, 'pixelpress_rejections_total', `reason="${code}"`);
  assertProblem(await get(url), status, code, detail);
  assert.equal(await counter(app, 'pixelpress_rejections_total', `reason="${code}"`), before + 1, `${code} counted in /metrics`);
}

test('off by default: GET ?url= and /watermarkimage are 403 PP_REMOTE_DISABLED naming PP_ENABLE_URL_SOURCE', async () => {
  const plain = await testApp();
  try {
    assertProblem(await plain.inject({ method: 'GET', url: '/resize?width=10&url=http://example.com/a.jpg' }), 403, 'PP_REMOTE_DISABLED', /PP_ENABLE_URL_SOURCE=true/);
    assertProblem(await plain.inject({ method: 'GET', url: '/pipeline?operations=[]&url=http://example.com/a.jpg' }), 403, 'PP_REMOTE_DISABLED', /PP_ENABLE_URL_SOURCE/);
    assertProblem(await postRaw(plain, '/watermarkimage?image=http://example.com/a.png', image), 403, 'PP_REMOTE_DISABLED', /PP_ENABLE_URL_SOURCE=true/);
    // Without url, a GET is still the 405 it was, and says both ways out.
    const bare = await plain.inject({ method: 'GET', url: '/resize?width=10' });
    assertProblem(bare, 405, 'PP_METHOD_NOT_ALLOWED', /POST the image instead, or .*PP_ENABLE_URL_SOURCE/);
    assert.equal((await plain.inject({ method: 'GET', url: '/metrics' })).body.match(/reason="PP_REMOTE_DISABLED"\} (\d+)/)?.[1], '3');
  } finally {
    await plain.close();
  }
});

test('a fetched image is processed exactly as the same bytes uploaded', async () => {
  const fetched = await get(`${pub}/photo.png`);
  assert.equal(fetched.statusCode, 200, fetched.body);
  const uploaded = await postRaw(app, '/resize?width=64&type=png', image);
  assert.equal(psnr(await decode(fetched.rawPayload), await decode(uploaded.rawPayload)), Infinity);
  // And that is the image resized: against sharp's own resize of the source, independently of our pipeline.
  const reference = await decode(await sharp(image).resize(64).png().toBuffer());
  assert.ok(psnr(await decode(fetched.rawPayload), reference) > 40);
  assert.equal(fetched.headers['image-width'], '64');
  const info = await app.inject({ method: 'GET', url: `/info?url=${encodeURIComponent(`${pub}/photo.png`)}` });
  assert.deepEqual([info.json().width, info.json().height], [320, 240]);
  const hop = await get(`${pub}/hop`);
  assert.equal(hop.statusCode, 200, 'one redirect within the limit is followed');
});

test('with remote sources on, /docs lists GET ?url= on every image route, as a valid document, each one served', async () => {
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { get?: { operationId: string; parameters: { name: string; required: boolean }[] } }> };
  await SwaggerParser.validate(structuredClone(document) as never);
  const gets = Object.entries(document.paths).filter(([, methods]) => methods.get?.operationId.endsWith('FromUrl'));
  assert.ok(gets.length > 30, `${gets.length} GET routes`);
  for (const [path, methods] of gets) {
    assert.deepEqual(methods.get!.parameters[0], { ...methods.get!.parameters[0], name: 'url', required: true });
    assert.ok(app.hasRoute({ method: 'GET', url: path }), path);
  }
  assert.ok(gets.some(([path]) => path === '/pipeline') && gets.some(([path]) => path === '/info'));
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'fit', params: { width: 50, height: 50 } }]));
  const pipeline = await app.inject({ method: 'GET', url: `/pipeline?operations=${steps}&url=${encodeURIComponent(`${pub}/photo.png`)}` });
  assert.equal(pipeline.statusCode, 200, pipeline.body);
  assert.equal(pipeline.headers['image-width'], '50');
  assert.equal(pipeline.headers['pp-ignored-params'], undefined, 'url is the source, not an ignored parameter');
  assertProblem(await app.inject({ method: 'GET', url: '/resize?width=10' }), 400, 'PP_MISSING_PARAM', /url/);
});

test('literal private addresses, in every notation, are refused before any connection', async () => {
  const port = internal.port;
  const cases: [string, RegExp][] = [
    [`http://127.0.0.1:${port}/secret`, /loopback/],
    [`http://2130706433:${port}/secret`, /127\.0\.0\.1 is not a public address \(loopback\)/],
    [`http://0177.0.0.1:${port}/secret`, /loopback/],
    [`http://0x7f.1:${port}/secret`, /loopback/],
    [`http://[::ffff:127.0.0.1]:${port}/secret`, /ipv4Mapped/],
    [`http://[::1]:${port}/secret`, /loopback/],
    [`http://[::127.0.0.1]:${port}/secret`, /not global unicast/],
    ['http://169.254.169.254/latest/meta-data/', /linkLocal/],
    ['http://[fd00:ec2::254]/latest/meta-data/', /uniqueLocal/],
    ['http://[fd00::1]/', /uniqueLocal/],
    ['http://10.0.0.1/', /private/],
    ['http://100.100.100.200/', /carrierGradeNat/],
    ['http://0.0.0.0/', /unspecified/],
    ['http://[2002:7f00:1::]/', /6to4/],
  ];
  for (const [url, range] of cases) await assertRefused(url, 403, 'PP_REMOTE_ADDRESS_REFUSED', range);
  assert.deepEqual(internal.hits, []);
});

test('a name resolving to a private address is refused; so is a redirect to one, re-checked on the hop', async () => {
  await assertRefused(`http://internal.test:${internal.port}/secret`, 403, 'PP_REMOTE_ADDRESS_REFUSED', /internal\.test resolves to 127\.0\.0\.1.*refused before connecting/);
  await assertRefused('http://metadata.test/latest/meta-data/', 403, 'PP_REMOTE_ADDRESS_REFUSED', /169\.254\.169\.254.*linkLocal/);
  await assertRefused(`${pub}/to-internal`, 403, 'PP_REMOTE_ADDRESS_REFUSED', /127\.0\.0\.1.*loopback/);
  await assertRefused(`${pub}/to-metadata`, 403, 'PP_REMOTE_ADDRESS_REFUSED', /169\.254\.169\.254/);
  assert.deepEqual(internal.hits, []);
  assert.ok(origin.hits.includes('/to-internal'), 'the redirect itself was fetched from the public origin');
});

test('DNS rebinding: the answer changes between the check and the connection, and the connection is refused', async () => {
  const connectionsBefore = internal.connections;
  await assertRefused(`http://rebind.test:${internal.port}/secret`, 403, 'PP_REMOTE_ADDRESS_REFUSED', /rebind\.test resolves to 127\.0\.0\.1.*refused when connecting/);
  // Two lookups: the check's (allowed) and the connection's (refused there, so no socket was opened).
  assert.equal(dns.calls['rebind.test'], 2);
  await assertRefused('http://rebind-meta.test/latest/meta-data/', 403, 'PP_REMOTE_ADDRESS_REFUSED', /169\.254\.169\.254.*refused when connecting/);
  assert.equal(internal.connections, connectionsBefore, 'the internal server never saw a connection');
  assert.deepEqual(internal.hits, []);
});

test('only http and https: file, gopher, data, ftp are refused, as is a redirect to file:', async () => {
  for (const url of ['file:///etc/passwd', 'gopher://127.0.0.1:70/_x', 'data:image/png;base64,iVBORw0KGgo=', 'ftp://example.com/a.png']) {
    await assertRefused(url, 400, 'PP_REMOTE_URL_INVALID', /Only http: and https:/);
  }
  await assertRefused(`${pub}/to-file`, 400, 'PP_REMOTE_URL_INVALID', /not file:/);
  await assertRefused('not a url', 400, 'PP_REMOTE_URL_INVALID', /Invalid image URL/);
  await assertRefused(`http://user:pass@images.test:${origin.port}/photo.png`, 400, 'PP_REMOTE_URL_INVALID', /user name or password/);
});

test('more bytes than the limit: refused on the declared length, and cut when an undeclared body crosses it', async () => {
  await assertRefused(`${pub}/declared-huge`, 422, 'PP_REMOTE_TOO_LARGE', new RegExp(`declares ${LIMIT * 100} bytes, over the limit of ${LIMIT}`));
  await assertRefused(`${pub}/endless`, 422, 'PP_REMOTE_TOO_LARGE', new RegExp(`sent more than the limit of ${LIMIT} bytes; the download was cut`));
  // The server could only write what the socket buffers took past the cut, never its endless body.
  assert.ok(origin.written < LIMIT * 16, `the endless server wrote ${origin.written} bytes`);
  // A body longer than its Content-Length is read to that length only: 1000 bytes of filler, not an image.
  assertProblem(await get(`${pub}/lying`), 415, 'PP_UNSUPPORTED_MEDIA', /not an image/);
});

test('redirects past the limit, and remote error statuses mapped as imaginary does', async () => {
  await assertRefused(`${pub}/loop`, 422, 'PP_REMOTE_TOO_MANY_REDIRECTS', /more than 2 times/);
  await assertRefused(`${pub}/gone`, 404, 'PP_REMOTE_STATUS', /\(status=404\)/);
  await assertRefused(`${pub}/teapot`, 503, 'PP_REMOTE_STATUS', /\(status=204\)/);
  await assertRefused('http://nowhere.test/a.png', 400, 'PP_REMOTE_UNREACHABLE', /nowhere\.test does not resolve/);
});

test('allowlist: a host or path it does not list is refused, on the first URL and on a redirect', async () => {
  const listed = await remoteApp({ allowedOrigins: [`images.test:${origin.port}/photo.png*`, `images.test:${origin.port}/to-internal*`] }, dns.lookup);
  try {
    const inject = (url: string) => listed.inject({ method: 'GET', url: `/resize?width=32&url=${encodeURIComponent(url)}` });
    assert.equal((await inject(`${pub}/photo.png`)).statusCode, 200);
    assertProblem(await inject(`${pub}/hop`), 403, 'PP_REMOTE_ORIGIN_NOT_ALLOWED', /not allowed remote URL origin: images\.test:\d+\/hop/);
    assertProblem(await inject(`http://other.test:${origin.port}/photo.png`), 403, 'PP_REMOTE_ORIGIN_NOT_ALLOWED', /other\.test/);
    // Same host, another port: not listed.
    assertProblem(await inject(`http://images.test:${internal.port}/photo.png`), 403, 'PP_REMOTE_ORIGIN_NOT_ALLOWED', /images\.test/);
    // The redirect's target is checked against the list too, before its address is.
    assertProblem(await inject(`${pub}/to-internal`), 403, 'PP_REMOTE_ORIGIN_NOT_ALLOWED', /127\.0\.0\.1:\d+\/secret/);
    assert.match(await listed.inject({ method: 'GET', url: '/metrics' }).then((r) => r.body), /pixelpress_rejections_total\{reason="PP_REMOTE_ORIGIN_NOT_ALLOWED"\} 4/);
  } finally {
    await listed.close();
  }
});

test("allowlist entries follow imaginary's -allowed-origins: scheme ignored, *. for subdomains, path prefixes, ports", async () => {
  const { parseOrigins, originAllowed } = await import('../../src/http/remote/origins.js');
  const origins = parseOrigins(['https://s3.example.com/bucket', '*.cdn.example.net', 'img.example.org:8443/a*']);
  const allowed = (url: string) => originAllowed(origins, new URL(url));
  assert.ok(allowed('http://s3.example.com/bucket/cat.jpg'));
  assert.ok(!allowed('https://s3.example.com/bucket-private/cat.jpg'), 'a path without / gets one');
  assert.ok(!allowed('https://s3.example.com/bucket/../secret/cat.jpg'), 'dot segments are resolved before matching');
  assert.ok(allowed('https://cdn.example.net/x.png') && allowed('https://a.b.cdn.example.net/x.png'));
  assert.ok(!allowed('https://evilcdn.example.net/x.png') && !allowed('https://cdn.example.net.evil.com/x.png'));
  assert.ok(allowed('https://img.example.org:8443/abc.png') && !allowed('https://img.example.org/abc.png'));
  assert.ok(!allowed('https://CDN.example.net@evil.com/x.png'), 'credentials do not make a host');
  assert.equal(parseOrigins(['*']), 'any');
});

test('a slow answer, or a DNS that never answers, is cut at the time limit: 504 PP_REMOTE_TIMEOUT', async () => {
  // Headers never come. 1 s is the shortest limit there is; the server never answers, so no speed is assumed.
  const stalled = await startOrigin(publicAddress, { '/stall': () => {} });
  const slow = await remoteApp({ timeoutSeconds: 1 }, dns.lookup);
  try {
    const response = await slow.inject({ method: 'GET', url: `/resize?width=32&url=${encodeURIComponent(`http://images.test:${stalled.port}/stall`)}` });
    assertProblem(response, 504, 'PP_REMOTE_TIMEOUT', /not fetched within 1 s/);
    // A resolver that never answers is cut by the same deadline.
    const hung = await slow.inject({ method: 'GET', url: `/resize?width=32&url=${encodeURIComponent('http://hang.test/a.png')}` });
    assertProblem(hung, 504, 'PP_REMOTE_TIMEOUT', /not fetched within 1 s/);
  } finally {
    await slow.close();
    await stalled.close();
  }
});

test('a fetch writes nothing to storage', { skip: process.platform !== 'linux' }, async () => {
  const writes = () => Number(/^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
  await get(`${pub}/photo.png`);
  const before = writes();
  for (let i = 0; i < 3; i++) assert.equal((await get(`${pub}/photo.png`)).statusCode, 200);
  assert.equal(writes() - before, 0);
});

test('configuration: off by default; on needs PP_ALLOWED_ORIGINS; limits from the environment; no HEAD fetches', async () => {
  const { configFromEnv } = await import('../../src/process/config.js');
  assert.equal(configFromEnv({}).remote.enabled, false);
  assert.throws(() => configFromEnv({ PP_ENABLE_URL_SOURCE: 'true' }), /PP_ALLOWED_ORIGINS is empty/);
  assert.throws(() => configFromEnv({ PP_ENABLE_URL_SOURCE: 'true', PP_ALLOWED_ORIGINS: 'http://user@x.com' }), /PP_ALLOWED_ORIGINS/);
  const remote = configFromEnv({ PP_ENABLE_URL_SOURCE: 'yes', PP_ALLOWED_ORIGINS: 'a.com, *.b.org/img/', PP_REMOTE_MAX_BYTES: '1000', PP_REMOTE_TIMEOUT_SECONDS: '3', PP_REMOTE_MAX_REDIRECTS: '0' }).remote;
  assert.deepEqual(remote, { enabled: true, allowedOrigins: ['a.com', '*.b.org/img/'], maxBytes: 1000, timeoutSeconds: 3, maxRedirects: 0 });
  const head = await app.inject({ method: 'HEAD', url: `/resize?width=10&url=${encodeURIComponent(`${pub}/photo.png`)}` });
  assert.equal(head.statusCode, 405);
  assert.equal(head.headers.allow, 'GET, POST');
});

test('the test switch cannot be enabled by accident', async () => {
  const { resolveRemote, remoteTestSwitch } = await import('../../src/http/remote/options.js');
  assert.throws(() => resolveRemote({ enabled: true, allowedOrigins: ['*'], [remoteTestSwitch]: { allowAddresses: ['10.0.0.1'] } }), /loopback addresses only/);
  const context = process.env.NODE_TEST_CONTEXT;
  delete process.env.NODE_TEST_CONTEXT;
  try {
    assert.throws(() => resolveRemote({ enabled: true, allowedOrigins: ['*'], [remoteTestSwitch]: { allowAddresses: ['127.0.0.2'] } }), /only in tests run by node --test/);
  } finally {
    process.env.NODE_TEST_CONTEXT = context;
  }
  assert.throws(() => resolveRemote({ enabled: true }), /PP_ALLOWED_ORIGINS is empty/);
  // Library and plugin callers get a TypeError for a malformed option, not a crash on the first request.
  assert.throws(() => resolveRemote({ enabled: 'yes' as never, allowedOrigins: ['*'] }), /true or false/);
  assert.throws(() => resolveRemote({ enabled: true, allowedOrigins: 'a.com' as never }), /array of host strings/);
});
