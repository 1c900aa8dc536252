/**
 * Slow uploads cannot starve the service: an upload holds only a receive place while its body arrives, the watchdog
 * answers one that arrives slower than the minimum rate (or past the body deadline) with 408 and frees its place, and
 * a full receive gate makes room by ending the slowest upload. Over real sockets, with node:net clients that send
 * their headers and then trickle bytes.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createScheduler } from '../../src/http/scheduler.js';
import { buildMultipart } from '../../testkit/formats/multipart.js';
import { testApp } from '../../testkit/http.js';
import { photo } from '../../testkit/images.js';
import { startServer } from '../../testkit/server-process.js';

let jpeg: Buffer;
before(async () => {
  jpeg = await photo(320, 240);
});

interface SlowAnswer {
  /** Everything the server sent before it closed the connection. */
  text: string;
  status: number | undefined;
  /** From connecting until the server closed the connection. */
  ms: number;
}

interface SlowClient {
  /** Resolves once the headers and the first body byte are written. */
  started: Promise<void>;
  answer: Promise<SlowAnswer>;
  stop(): void;
}

/** A slowloris upload: headers promising `declared` bytes, then `body` one byte every `everyMs`, until the server closes. */
function slowUpload(port: number, head: string, body: Buffer, everyMs: number): SlowClient {
  const begun = performance.now();
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  let timer: NodeJS.Timeout | undefined;
  let sent = 0;
  const stop = () => {
    clearInterval(timer);
    socket.destroy();
  };
  const started = new Promise<void>((resolve) => {
    socket.once('connect', () => {
      socket.write(head);
      socket.write(body.subarray(sent, ++sent), () => resolve());
      timer = setInterval(() => {
        if (sent < body.length && socket.writable) socket.write(body.subarray(sent, ++sent));
      }, everyMs);
    });
  });
  const answer = new Promise<SlowAnswer>((resolve) => {
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => {}); // a write racing the server's close; the answer is what was read
    socket.on('close', () => {
      clearInterval(timer);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      resolve({ text, status: status === undefined ? undefined : Number(status), ms: performance.now() - begun });
    });
  });
  return { started, answer, stop };
}

const rawHead = (length: number) =>
  `POST /resize?width=100 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: ${length}\r\n\r\n`;
const multipartHead = (contentType: string, length: number) =>
  `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\nContent-Length: ${length}\r\n\r\n`;

function assertTooSlow(answer: SlowAnswer, detail: RegExp): void {
  assert.equal(answer.status, 408, `answer: ${JSON.stringify(answer.text.slice(0, 300))}`);
  const [head = '', body = ''] = answer.text.split('\r\n\r\n');
  assert.match(head, /\r\ncontent-type: application\/problem\+json/i);
  assert.match(head, /\r\nx-content-type-options: nosniff/i);
  assert.match(head, /\r\nconnection: close/i);
  const problem = JSON.parse(body) as { code: string; status: number; detail: string };
  assert.equal(problem.code, 'PP_UPLOAD_TOO_SLOW');
  assert.equal(problem.status, 408);
  assert.match(problem.detail, detail);
}

/** Polls `read` until `done` holds; the deadline turns a hang into a failure that says what was awaited. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  const seen: string[] = [];
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    seen.push(JSON.stringify(value));
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}; read: ${seen.slice(-5).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('the receive gate: a count and a byte budget of its own, apart from processing, and room made on request', () => {
  const scheduler = createScheduler({ concurrency: 1, queueSize: 0, maxReceiving: 3, maxReceiveBytes: 100 });
  const first = scheduler.receive(60);
  assert.throws(() => scheduler.receive(41), /Server busy: 1 uploads being received/, 'the byte budget holds');
  const second = scheduler.receive(40);
  assert.equal(scheduler.receivingBytes, 100);
  assert.equal(scheduler.saturated, true, 'a full byte budget takes no new upload');
  first();
  first();
  assert.equal(scheduler.receiving, 1, 'release is idempotent');
  // Receiving holds no processing place: the one slot is still free.
  const processing = scheduler.admit();
  assert.equal(scheduler.admitted, 1);
  assert.throws(() => scheduler.receive(1), /Server busy: 1 requests queued or processing/, 'processing saturated: 503 before the body');
  processing();
  second();
  assert.equal(scheduler.saturated, false);

  // One upload is always taken when none is being received, even over the budget.
  const big = scheduler.receive(500);
  assert.equal(scheduler.receiving, 1);
  big();

  const held = [scheduler.receive(0), scheduler.receive(0), scheduler.receive(0)];
  assert.throws(() => scheduler.receive(0, () => false), /3 uploads being received/, 'no room to make: 503');
  let asked = 0;
  const release = scheduler.receive(0, () => {
    asked++;
    held.shift()!();
    return true;
  });
  assert.equal(asked, 1, 'one upload ended makes room for one');
  assert.equal(scheduler.receiving, 3);
  let spins = 0;
  assert.throws(() => scheduler.receive(0, () => ++spins > 0), /uploads being received/, 'a makeRoom that frees nothing cannot loop forever');
  assert.ok(spins <= 3, `makeRoom was asked ${spins} times`);
  [release, ...held].forEach((done) => done());
  assert.equal(scheduler.receiving, 0);
});

let served: FastifyInstance | undefined;
after(() => served?.close());

async function listen(options: Parameters<typeof testApp>[0]): Promise<number> {
  await served?.close();
  served = await testApp(options);
  await served.listen({ host: '127.0.0.1', port: 0 });
  return (served.server.address() as net.AddressInfo).port;
}

test('an upload still arriving at the body deadline gets 408, however steady it is', { timeout: 60_000 }, async () => {
  // The rate check is off, so only the 2 s deadline can end it; the upload would need 100 s at one byte per 10 ms.
  const port = await listen({ upload: { bodyTimeoutSeconds: 2, minBytesPerSecond: 0 } });
  const client = slowUpload(port, rawHead(10_000), jpeg.subarray(0, 10_000), 10);
  const answer = await client.answer;
  client.stop();
  assertTooSlow(answer, /^Upload not complete after 2 s, the body deadline$/);
  // Not before the deadline; well within it plus the 250 ms check interval and a noisy machine's delays.
  assert.ok(answer.ms >= 2_000 && answer.ms < 8_000, `answered after ${answer.ms.toFixed(0)} ms`);
  assert.equal(served!.pixelpress.scheduler.receiving, 0, 'its receive place was given back');
});

test('a full receive gate ends the slowest upload behind the rate so a new client gets in', { timeout: 60_000 }, async () => {
  // A 60 s grace: only making room can end the two slow uploads within this test.
  const port = await listen({ scheduler: { concurrency: 1, queueSize: 1, maxReceiving: 2 }, upload: { graceSeconds: 60 } });
  const slow = [slowUpload(port, rawHead(10_000), jpeg, 2_000), slowUpload(port, rawHead(10_000), jpeg, 2_000)];
  await Promise.all(slow.map((client) => client.started));
  await until(async () => served!.pixelpress.scheduler.receiving, (n) => n === 2, 'both slow uploads to be receiving', 10_000);
  // A slow upload may be ended only after a second of showing its pace: until then the newcomer gets 503.
  const response = await until(
    async () => {
      const answer = await fetch(`http://127.0.0.1:${port}/resize?width=100`, { method: 'POST', body: new Uint8Array(jpeg), headers: { 'content-type': 'image/jpeg' } });
      await answer.arrayBuffer();
      return answer.status;
    },
    (status) => status !== 503,
    'the gate to make room',
    10_000,
  );
  assert.equal(response, 200);
  const ended = await Promise.race(slow.map((client) => client.answer));
  assertTooSlow(ended, /^Upload too slow: \d+ bytes per second, under the minimum of 16384, while other uploads were waiting$/);
  slow.forEach((client) => client.stop());
});

test('24 slowloris uploads hold no processing place: normal clients get 200, the slow ones 408 after the grace', { timeout: 120_000 }, async () => {
  // Two workers of 1 slot + 4 queue places: 10 processing places in all, fewer than the 24 slow uploads. The receive
  // gate is widened so that all 24 are held at once (by default it has 2 x 5 places per worker, and the test of a full
  // gate above shows the slowest being ended to make room).
  const server = await startServer({ PP_WORKERS: '2', PP_CONCURRENCY: '1', PP_QUEUE_SIZE: '4', PP_MAX_RECEIVING: '32' });
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${server.base}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  };
  const slow: SlowClient[] = [];
  try {
    // startServer returns once one worker listens; cluster metrics wait for every worker, so wait for the second.
    await until(async () => server.output().match(/Server listening/g)?.length ?? 0, (n) => n >= 2, 'both workers to listen', 30_000);
    const port = Number(new URL(server.base).port);
    const form = buildMultipart([{ name: 'img', data: jpeg, filename: 'a.jpg', contentType: 'image/jpeg' }]);
    for (let i = 0; i < 24; i++) {
      // One byte every 2 s, the default 16 KiB/s needs 8,000 times that.
      slow.push(i % 2 === 0 ? slowUpload(port, rawHead(jpeg.length), jpeg, 2_000) : slowUpload(port, multipartHead(form.contentType, form.body.length), form.body, 2_000));
    }
    await Promise.all(slow.map((client) => client.started));
    // Every slow upload is in: receiving now; before the fix they held every processing place instead.
    await until(
      async () => ({ receiving: await metric('pixelpress_receiving'), admitted: await metric('pixelpress_admitted') }),
      (m) => m.receiving >= 24 || m.admitted >= 10,
      'the server to hold all 24 slow uploads',
      10_000,
    );

    let answered = 0;
    slow.forEach((client) => void client.answer.then(() => answered++));
    const normal: { status: number; body: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const multipartForm = new FormData();
      multipartForm.append('img', new Blob([new Uint8Array(jpeg)]), 'a.jpg');
      const response = i % 2 === 0
        ? await fetch(`${server.base}/resize?width=100`, { method: 'POST', body: new Uint8Array(jpeg), headers: { 'content-type': 'image/jpeg' } })
        : await fetch(`${server.base}/`, { method: 'POST', body: multipartForm });
      normal.push({ status: response.status, body: await response.text() });
    }
    assert.deepEqual(normal.map((r) => r.status), [200, 200, 200, 200, 200, 200], `normal clients during the attack: ${normal.map((r) => r.body.slice(0, 120)).join(' | ')}`);
    assert.equal(answered, 0, 'the normal clients were served while every slow upload was still held');

    const ready = await fetch(`${server.base}/ready`);
    const readyBody = (await ready.json()) as { ready: boolean; admitted: number };
    assert.equal(ready.status, 200, `/ready during the attack: ${JSON.stringify(readyBody)}`);
    assert.equal(readyBody.ready, true);
    assert.equal(readyBody.admitted, 0, 'no processing place is held by a slow upload');

    const answers = await Promise.all(slow.map((client) => client.answer));
    const times = answers.map((answer) => answer.ms);
    console.log(`# 24 slow uploads answered 408 after ${Math.min(...times).toFixed(0)}-${Math.max(...times).toFixed(0)} ms`);
    for (const answer of answers) {
      assertTooSlow(answer, /^Upload too slow: \d+ bytes in \d+\.\d s, under the minimum of 16384 bytes per second after the first 5 s$/);
      // Never inside the 5 s grace; then within the 250 ms check interval, plus 10 s for a loaded 2-core machine.
      assert.ok(answer.ms >= 5_000 && answer.ms < 15_000, `answered after ${answer.ms.toFixed(0)} ms`);
    }
    await until(() => metric('pixelpress_receiving'), (n) => n === 0, 'every receive place to be given back', 5_000);
    assert.equal(await metric('pixelpress_admitted'), 0);
  } finally {
    slow.forEach((client) => client.stop());
    server.child.kill('SIGTERM');
    await server.exited;
  }
});
