/**
 * Hostile input: every generated attack (testkit/hostile/catalogue.ts) against POST / (multipart img) and
 * POST /resize?width=100 (raw body). The bar for each: the expected 4xx and code, never a 5xx, a problem+json body,
 * an answer within a bound, nothing leaked from files or the network; and afterwards the service still serves.
 * Request-level abuse (wrong types, byte limit, declared lengths, aborted uploads) is checked here too, the last
 * two over a real socket.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import sharp from 'sharp';
import { jpegScan } from '../../testkit/formats/jpeg.js';
import { buildMultipart } from '../../testkit/formats/multipart.js';
import { crc32, PNG_SIGNATURE } from '../../testkit/formats/png.js';
import { colourSpread, hostileImages, hostileRequests } from '../../testkit/hostile/catalogue.js';
import { acceptableStatuses, DEFAULT_WITHIN_MS, type Expectation, type HostileInput } from '../../testkit/hostile/expectations.js';
import { seededBytes } from '../../testkit/prng.js';
import { photo } from '../../testkit/images.js';
import { testApp } from '../../testkit/http.js';

// A canary listener: the SSRF SVG points at it, and it must never see a connection.
let canaryConnections = 0;
const canary = net.createServer((socket) => {
  canaryConnections++;
  socket.destroy();
});
await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
const canaryUrl = `http://127.0.0.1:${(canary.address() as net.AddressInfo).port}/x.png`;

const images = await hostileImages({ ssrfUrl: canaryUrl });
const requests = await hostileRequests();

interface Route {
  label: string;
  url: string;
  mode: 'multipart' | 'raw';
  /** Every 200 from this route has this type; otherwise the input's own (expect.mime). */
  mime?: string;
}

const routes: readonly Route[] = [
  { label: 'POST / (multipart img)', url: '/', mode: 'multipart', mime: 'image/jpeg' },
  { label: 'POST /resize?width=100 (raw body)', url: '/resize?width=100', mode: 'raw' },
];

let app: FastifyInstance;
let rssBefore = 0;
before(async () => {
  app = await testApp();
  // Warm up (libvips thread pools, codecs) so the memory bound measures growth from the attacks, not start-up.
  const warm = await photo(320, 240);
  for (const route of routes) assert.equal((await send(route, { name: 'warm-up', body: warm, contentType: 'image/jpeg', expect: { status: 200 } })).statusCode, 200);
  rssBefore = process.memoryUsage().rss;
});
after(async () => {
  await app.close();
  await new Promise<void>((resolve) => canary.close(() => resolve()));
});

function send(route: Route, input: HostileInput, target: FastifyInstance = app): Promise<LightMyRequestResponse> {
  if (route.mode === 'raw') {
    return target.inject({ method: 'POST', url: route.url, payload: input.body, headers: { 'content-type': input.contentType ?? 'application/octet-stream' } });
  }
  const form = buildMultipart([{ name: 'img', data: input.body, filename: input.filename ?? 'upload.bin', contentType: input.contentType ?? 'application/octet-stream' }]);
  return target.inject({ method: 'POST', url: route.url, payload: form.body, headers: { 'content-type': form.contentType } });
}

/** Sends and times one request: the answer and how long it took. */
async function timedSend(run: () => Promise<LightMyRequestResponse>): Promise<{ response: LightMyRequestResponse; ms: number }> {
  const start = performance.now();
  const response = await run();
  return { response, ms: performance.now() - start };
}

function describeAnswer(response: LightMyRequestResponse): string {
  const type = String(response.headers['content-type'] ?? '');
  return `${response.statusCode} ${type} ${type.startsWith('image/') ? `(${response.rawPayload.length} bytes)` : response.body.slice(0, 300)}`;
}

/** The checks every hostile answer gets. */
async function assertAnswer(response: LightMyRequestResponse, ms: number, expect: Expectation, routeMime?: string): Promise<void> {
  const what = describeAnswer(response);
  assert.ok(response.statusCode < 500, `never a 5xx; got ${what}`);
  assert.ok(acceptableStatuses(expect).includes(response.statusCode), `expected ${acceptableStatuses(expect).join(' or ')}; got ${what}`);
  const within = expect.withinMs ?? DEFAULT_WITHIN_MS;
  assert.ok(ms < within, `answered in ${ms.toFixed(0)} ms; the bound is ${within} ms`);
  // Nothing from /etc/passwd, ever: not in an error detail, not in an image's metadata.
  assert.ok(!/root:x?:0:0:/.test(response.rawPayload.toString('latin1')), 'the answer contains /etc/passwd');

  if (response.statusCode >= 400) {
    assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8', what);
    const problem = response.json() as Record<string, unknown>;
    assert.equal(problem.status, response.statusCode, what);
    assert.match(String(problem.code), /^PP_[A-Z_]+$/, what);
    assert.equal(problem.type, `/problems/${String(problem.code)}`, what);
    assert.equal(typeof problem.detail, 'string', what);
    assert.equal(problem.message, problem.detail, what);
    if (expect.code) assert.equal(problem.code, expect.code, what);
    return;
  }
  const mime = routeMime ?? expect.mime;
  assert.ok(String(response.headers['content-type']).startsWith('image/'), what);
  if (mime) assert.equal(response.headers['content-type'], mime, what);
  const meta = await sharp(response.rawPayload).metadata();
  assert.equal(`image/${meta.format}`, response.headers['content-type'], 'the body is what Content-Type says');
  assert.equal(String(meta.width), response.headers['image-width']);
  assert.equal(String(meta.height), response.headers['image-height']);
  // An output image never carries markup from the input (comments and metadata are not copied).
  assert.ok(!/<script|<html/i.test(response.rawPayload.toString('latin1')), 'the output image carries markup from the input');
  if (expect.blank) {
    const spread = await colourSpread(response.rawPayload);
    assert.ok(spread <= 8, `a 200 here must be one flat colour (nothing external rendered); channel spread is ${spread}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The generators make what they claim (else a 413 or 422 could come for the wrong reason)

const byName = (prefix: string): Buffer => {
  const found = images.find((input) => input.name.startsWith(prefix));
  assert.ok(found, `no generated input named ${prefix}...`);
  return found.body;
};

/** Each chunk of a PNG, with its CRC checked. */
function pngChunks(png: Buffer): { type: string; data: Buffer }[] {
  assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE), 'PNG signature');
  const chunks: { type: string; data: Buffer }[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    assert.equal(png.readUInt32BE(at + 8 + length), crc32(png.subarray(at + 4, at + 8 + length)), `CRC of ${type}`);
    chunks.push({ type, data: png.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
  }
  return chunks;
}

test('generators: CRC32, crafted PNG headers, the 400 MP PNG, the patched JPEG, the 3000-frame GIF, the polyglot', async () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926, 'CRC-32 check value');

  const claim = byName('PNG whose IHDR claims 100000x100000');
  assert.deepEqual(pngChunks(claim).map((chunk) => chunk.type), ['IHDR', 'IDAT', 'IEND']);
  const claimMeta = await sharp(claim, { limitInputPixels: false }).metadata();
  assert.deepEqual([claimMeta.format, claimMeta.width, claimMeta.height], ['png', 100_000, 100_000]);

  // The bomb: a complete, valid 20000x20000 RGB PNG of about 1 MB (the IDAT really inflates to every row).
  const bomb = byName('valid 20000x20000 PNG');
  assert.ok(bomb.length > 500_000 && bomb.length < 2_000_000, `bomb is ${bomb.length} bytes`);
  const idat = pngChunks(bomb).find((chunk) => chunk.type === 'IDAT')!.data;
  let inflated = 0;
  await new Promise<void>((resolve, reject) => {
    const inflate = zlib.createInflate({ chunkSize: 8 << 20 });
    inflate.on('data', (chunk: Buffer) => (inflated += chunk.length));
    inflate.on('end', resolve);
    inflate.on('error', reject);
    inflate.end(idat);
  });
  assert.equal(inflated, 20000 * (20000 * 3 + 1), 'every row is there');
  const bombMeta = await sharp(bomb, { limitInputPixels: false }).metadata();
  assert.deepEqual([bombMeta.format, bombMeta.width, bombMeta.height, bombMeta.channels], ['png', 20000, 20000, 3]);

  const sof = await sharp(byName('JPEG whose SOF claims 65500x65500'), { limitInputPixels: false }).metadata();
  assert.deepEqual([sof.format, sof.width, sof.height], ['jpeg', 65500, 65500]);

  const flipped = byName('bit-flipped JPEG');
  const original = await photo(320, 240);
  const { start, end } = jpegScan(original);
  assert.equal(flipped.length, original.length);
  assert.ok(flipped.subarray(0, start).equals(original.subarray(0, start)), 'headers untouched');
  assert.ok(!flipped.subarray(start, end).equals(original.subarray(start, end)), 'scan data flipped');

  const gif = byName('GIF with 3000 frames');
  const gifMeta = await sharp(gif).metadata();
  assert.deepEqual([gifMeta.format, gifMeta.pages, gifMeta.width, gifMeta.height], ['gif', 3000, 2, 2]);
  // The hand-written LZW decodes: frame 2999 is palette [3, 0, 1, 2], so its first pixel is colour 3.
  const last = await sharp(gif, { page: 2999 }).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([...last.data.subarray(0, 3)], [40, 40, 220]);

  const polyglot = byName('polyglot: JPEG');
  assert.ok(polyglot.includes('<script>'), 'the polyglot carries a script');
  const [a, b] = await Promise.all([sharp(polyglot).raw().toBuffer(), sharp(original).raw().toBuffer()]);
  assert.ok(a.equals(b), 'and is the same image');
  // Checking the bomb inflated 1.2 GB through zlib; measure the attacks' memory from here.
  rssBefore = process.memoryUsage().rss;
});

// ---------------------------------------------------------------------------------------------------------------
// Every hostile image, on both routes

for (const input of images) {
  for (const route of routes) {
    const name = `${input.name} → ${route.label}`;
    test(name, async () => {
      const { response, ms } = await timedSend(() => send(route, input));
      await assertAnswer(response, ms, input.expect, route.mime);
    });
    const documented = input.expect.documented;
    if (documented) {
      const strict = `documented code: ${name}`;
      test(strict, async () => {
        const { response, ms } = await timedSend(() => send(route, input));
        await assertAnswer(response, ms, { status: documented.status, code: documented.code });
      });
    }
  }
}

test('the SSRF SVG made no connection to the URL it names', () => {
  assert.equal(canaryConnections, 0);
});

// Needs the access plugin's security headers (X-Content-Type-Options on every answer).
test('polyglot answers carry X-Content-Type-Options: nosniff', async () => {
  for (const input of images.filter((candidate) => candidate.name.startsWith('polyglot'))) {
    for (const route of routes) {
      const response = await send(route, input);
      assert.equal(response.statusCode, 200, `${input.name} → ${route.label}`);
      assert.equal(response.headers['x-content-type-options'], 'nosniff', `${input.name} → ${route.label}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Whole requests: multipart structure and request Content-Types

for (const input of requests) {
  for (const route of routes) {
    const name = `${input.name} → POST ${route.url}`;
    test(name, async () => {
      const { response, ms } = await timedSend(() =>
        app.inject({ method: 'POST', url: route.url, payload: input.body, headers: { 'content-type': input.contentType! } }),
      );
      await assertAnswer(response, ms, input.expect, route.mime);
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The byte limit

test('an upload over the byte limit is 413 PP_PAYLOAD_TOO_LARGE, multipart and raw; at the limit it is not', async () => {
  const small = await testApp({ limits: { maxUploadBytes: 1 << 20 } });
  try {
    const over: HostileInput = { name: 'over', body: seededBytes((1 << 20) + 1, 1), contentType: 'image/jpeg', expect: { status: 413, code: 'PP_PAYLOAD_TOO_LARGE' } };
    const atLimit: HostileInput = { name: 'at', body: seededBytes(1 << 20, 2), contentType: 'image/jpeg', expect: { status: 415, code: 'PP_UNSUPPORTED_MEDIA' } };
    for (const route of routes) {
      for (const input of [over, atLimit]) {
        const { response, ms } = await timedSend(() => send(route, input, small));
        await assertAnswer(response, ms, input.expect);
      }
    }
  } finally {
    await small.close();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Over a real socket: declared lengths and aborted uploads

interface RawExchange {
  /** Everything the server sent. */
  text: string;
  status: number | undefined;
  ms: number;
}

/** Open a socket, write `head` (and `body`), and collect what the server says until it closes or `waitMs` passes. */
function exchange(port: number, head: string, body: Buffer | undefined, waitMs: number): Promise<RawExchange> {
  return new Promise((resolve) => {
    const start = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      resolve({ text, status: status === undefined ? undefined : Number(status), ms: performance.now() - start });
    };
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      // A complete response (headers plus the Content-Length they announce) is enough.
      const split = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(text)?.[1];
      if (split >= 0 && length !== undefined && Buffer.byteLength(text, 'latin1') - split - 4 >= Number(length)) finish();
    });
    socket.on('close', finish);
    socket.on('error', finish);
    const timer = setTimeout(finish, waitMs);
    socket.write(head);
    if (body) socket.write(body);
  });
}

/** Send headers and part of a body, then drop the connection. */
function abortUpload(port: number, head: string, partial: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(head);
      socket.write(partial, () => setTimeout(() => socket.destroy(), 20));
    });
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
}

const LIMIT = 1 << 20;
let served: FastifyInstance;
let port = 0;

test('over a real socket', async (t) => {
  // A small scheduler, so a leaked admission slot after an abort would show as 503s at once.
  served = await testApp({ limits: { maxUploadBytes: LIMIT }, scheduler: { concurrency: 1, queueSize: 1 } });
  await served.listen({ host: '127.0.0.1', port: 0 });
  port = (served.server.address() as net.AddressInfo).port;
  t.after(() => served.close());

  const declared = 64 * LIMIT;
  await t.test('a declared Content-Length over the limit is refused at once, without the body: raw', async () => {
    const head = `POST /resize?width=100 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: ${declared}\r\n\r\n`;
    const answer = await exchange(port, head, undefined, 3000);
    assert.equal(answer.status, 413, `answer: ${JSON.stringify(answer.text.slice(0, 300))}`);
    assert.match(answer.text, /"code":"PP_PAYLOAD_TOO_LARGE"/);
    assert.ok(answer.ms < 1000, `took ${answer.ms.toFixed(0)} ms`);
  });

  const multipartName = 'a declared Content-Length over the limit is refused at once, without the body: multipart';
  await t.test(multipartName, async () => {
    const head = `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${declared}\r\n\r\n`;
    const answer = await exchange(port, head, Buffer.from('--b\r\nContent-Disposition: form-data; name="img"; filename="a.jpg"\r\n\r\n'), 3000);
    assert.equal(answer.status, 413, `no 413 within 3 s; answer: ${JSON.stringify(answer.text.slice(0, 300))}`);
    assert.match(answer.text, /"code":"PP_PAYLOAD_TOO_LARGE"/);
    assert.ok(answer.ms < 1000, `took ${answer.ms.toFixed(0)} ms`);
  });

  await t.test('uploads aborted halfway leave the service serving, with no admission slot leaked', async () => {
    const jpeg = await photo(320, 240);
    const body = Buffer.concat([jpeg, Buffer.alloc(LIMIT / 2 - jpeg.length)]); // under the limit, so it is read
    const form = buildMultipart([{ name: 'img', data: body, filename: 'a.jpg', contentType: 'image/jpeg' }]);
    // More aborts than the scheduler admits at once (1 + 1): each must give its slot back.
    for (let i = 0; i < 3; i++) {
      await abortUpload(port, `POST /resize?width=100 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: ${body.length}\r\n\r\n`, body.subarray(0, body.length / 2));
      await abortUpload(port, `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${form.contentType}\r\nContent-Length: ${form.body.length}\r\n\r\n`, form.body.subarray(0, form.body.length / 2));
    }
    // The server notices a closed socket asynchronously; give it a moment.
    let ready: { admitted?: number } = {};
    for (let i = 0; i < 50; i++) {
      const response = await fetch(`http://127.0.0.1:${port}/ready`);
      ready = (await response.json()) as { admitted?: number };
      if (ready.admitted === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(ready.admitted, 0, `admission slots still held after the aborts: ${JSON.stringify(ready)}`);

    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    for (let i = 0; i < 3; i++) {
      const resized = await fetch(`http://127.0.0.1:${port}/resize?width=100`, { method: 'POST', body: new Uint8Array(jpeg), headers: { 'content-type': 'image/jpeg' } });
      assert.equal(resized.status, 200, await resized.clone().text());
      const multipartForm = new FormData();
      multipartForm.append('img', new Blob([new Uint8Array(jpeg)]), 'a.jpg');
      const blurred = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: multipartForm });
      assert.equal(blurred.status, 200, await blurred.clone().text());
      assert.equal(blurred.headers.get('content-type'), 'image/jpeg');
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Afterwards

test('after the whole suite: /health is 200, a normal photo is 200, and memory stayed bounded', async () => {
  const health = await app.inject({ method: 'GET', url: '/health' });
  assert.equal(health.statusCode, 200);
  const jpeg = await photo(320, 240);
  for (const route of routes) {
    const response = await send(route, { name: 'photo', body: jpeg, contentType: 'image/jpeg', expect: { status: 200 } });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers['content-type'], 'image/jpeg');
  }
  const grown = (process.memoryUsage().rss - rssBefore) / (1024 * 1024);
  console.log(`# RSS grew ${grown.toFixed(1)} MB over the hostile suite`);
  assert.ok(grown < 300, `RSS grew ${grown.toFixed(1)} MB`);
});
