/** GET /playground and its files: served from memory with the page's CSP, open without key or signature, nothing off-site. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { operations } from '../../src/core/operations/index.js';
import { buildMultipart } from '../../testkit/formats/multipart.js';
import { assertProblem, postRaw, testApp } from '../../testkit/http.js';
import { photo } from '../../testkit/images.js';

const folder = new URL('../../playground/', import.meta.url);

/** The files the page loads, as the browser resolves its relative src and href against /playground. */
function assetsOf(html: string): string[] {
  return [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1]!, 'http://host/playground').pathname).filter((path) => path.startsWith('/playground/'));
}

describe('GET /playground', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await testApp();
  });
  after(() => app.close());

  test('is an HTML page under the strict CSP, with no inline script or style, so the CSP needs no widening', async () => {
    const page = await app.inject({ url: '/playground' });
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'(;|$)/);
    assert.match(csp, /img-src 'self' data: blob:/, 'the before and after previews are blob: URLs');
    assert.doesNotMatch(page.body, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
    assert.doesNotMatch(page.body, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or event handler attribute');
  });

  test('serves the files the page names, with their types, and refuses any other name', async () => {
    const page = await app.inject({ url: '/playground' });
    const assets = assetsOf(page.body);
    assert.deepEqual(assets.sort(), ['/playground/playground.css', '/playground/playground.js']);
    const types: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' };
    for (const path of assets) {
      const response = await app.inject({ url: path });
      assert.equal(response.statusCode, 200, path);
      assert.equal(response.headers['content-type'], types[path.split('.').pop()!], path);
      assert.equal(response.body, readFileSync(new URL(path.slice('/playground/'.length), folder), 'utf8'), path);
    }
    for (const url of ['/playground/nope.js', '/playground/..%2Fpackage.json', '/playground/index.html']) {
      assertProblem(await app.inject({ url }), 404, 'PP_NOT_FOUND', /^No playground file/);
    }
    const slash = await app.inject({ url: '/playground/' });
    assert.equal(slash.statusCode, 301);
    assert.equal(slash.headers.location, '../playground', 'relative, so relative URLs work and a proxy prefix is kept');
  });

  test('needs nothing from another host and lists no operation by hand (they come from /openapi.json)', () => {
    for (const file of ['index.html', 'playground.css', 'playground.js']) {
      const text = readFileSync(new URL(file, folder), 'utf8');
      assert.doesNotMatch(text, /(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}\//i, `${file} names no other host`);
      if (!file.endsWith('.js')) assert.doesNotMatch(text, /@import|url\(/i, `${file} loads no other stylesheet, font or image`);
    }
    const script = readFileSync(new URL('playground.js', folder), 'utf8');
    const named = operations.filter((operation) => new RegExp(`['"\`]${operation.name}['"\`]`).test(script)).map((operation) => operation.name);
    assert.deepEqual(named, []);
    assert.match(script, /x-pipeline-operation/);
  });
});

test('image responses carry Server-Timing, the processing time the playground shows', async () => {
  const app = await testApp();
  try {
    const response = await postRaw(app, '/resize?width=40', await photo(80, 60), 'image/jpeg');
    assert.equal(response.statusCode, 200, response.body);
    assert.match(String(response.headers['server-timing']), /^receive;dur=\d+\.\d, queue;dur=\d+\.\d, process;dur=\d+\.\d$/);
  } finally {
    await app.close();
  }
});

/** POST `body` over a real socket in two halves `pauseMs` apart; the answer's Server-Timing stages in ms. */
async function timingOfSplitUpload(port: number, path: string, contentType: string, body: Buffer, pauseMs: number): Promise<Record<string, number>> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  const closed = once(socket, 'close');
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
  socket.write(body.subarray(0, body.length >> 1));
  await sleep(pauseMs);
  socket.write(body.subarray(body.length >> 1));
  await closed;
  assert.match(text, /^HTTP\/1\.1 200 /, text.slice(0, 300));
  const header = /\r\nserver-timing: ([^\r]*)/i.exec(text)?.[1] ?? '';
  return Object.fromEntries([...header.matchAll(/(\w+);dur=([\d.]+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

test('Server-Timing receive covers the whole upload, raw (read by the body parser) and multipart', async () => {
  const app = await testApp();
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const jpeg = await photo(80, 60);
    const form = buildMultipart([{ name: 'img', filename: 'a.jpg', contentType: 'image/jpeg', data: jpeg }]);
    for (const [path, contentType, body] of [['/resize?width=40', 'image/jpeg', jpeg], ['/', form.contentType, form.body]] as const) {
      const stages = await timingOfSplitUpload(port, path, contentType, body, 400);
      // The second half arrives 400 ms after the first: receiving cannot have taken less (timers may fire a little early).
      assert.ok(stages.receive! >= 380, `${path}: ${JSON.stringify(stages)}`);
      assert.ok(stages.process! < stages.receive!, `${path}: ${JSON.stringify(stages)}`);
    }
  } finally {
    await app.close();
  }
});

describe('GET /playground with access control on', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await testApp({ access: { apiKey: 'secret-key', urlSignatureKey: 'k'.repeat(32) } });
  });
  after(() => app.close());

  test('the page and its files load without key or signature (the page asks for the key); image routes still need both', async () => {
    for (const url of ['/playground', '/playground/playground.js', '/playground/playground.css', '/openapi.json']) {
      assert.equal((await app.inject({ url })).statusCode, 200, url);
    }
    assertProblem(await app.inject({ method: 'POST', url: '/pipeline', headers: { 'api-key': 'secret-key' } }), 403, 'PP_SIGNATURE_MISMATCH', 'URL signature mismatch');
  });
});
