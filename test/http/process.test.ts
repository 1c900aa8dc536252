/** The real process: a worker killed like a libvips segfault is replaced, and SIGTERM drains in-flight work. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { photo } from '../../testkit/images.js';
import { startServer } from '../../testkit/server-process.js';

async function blur(base: string, input: Buffer): Promise<number> {
  const form = new FormData();
  form.append('img', new Blob([new Uint8Array(input)]), 'photo.jpg');
  try {
    const response = await fetch(`${base}/`, { method: 'POST', body: form, signal: AbortSignal.timeout(15_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0; // the connection died with the worker
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const listening = (output: string) => [...output.matchAll(/"pid":(\d+),"hostname"[^\n]*Server listening/g)].map((m) => Number(m[1]));

test('a worker killed by a signal is replaced and the service keeps answering', { timeout: 120_000 }, async () => {
  const server = await startServer({ PP_WORKERS: '2' });
  try {
    const input = await photo(800, 500);
    // Wait until both workers listen, then kill one the way a native crash would (SIGSEGV).
    await until(() => new Set(listening(server.output())).size === 2, 'two workers');
    const pids = listening(server.output());
    const statuses: number[] = [];
    const load = (async () => {
      for (let i = 0; i < 30; i++) statuses.push(await blur(server.base, input));
    })();
    // Under load: a few answers in, so the kill lands among requests rather than before them.
    await until(() => statuses.length >= 3, 'the load to be under way');
    process.kill(pids[0]!, 'SIGSEGV');
    await load;
    await until(() => new Set(listening(server.output())).size === 3, 'the replacement worker');
    assert.match(server.output(), /"signal":"SIGSEGV","restarts":1/);
    const ok = statuses.filter((s) => s === 200).length;
    assert.ok(ok >= 28, `at most the in-flight requests of the dead worker may fail: ${statuses.join(',')}`);
    assert.ok(statuses.every((s) => s === 200 || s === 0), 'nothing but successes or dropped connections');
    assert.equal(await blur(server.base, input), 200);
  } finally {
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, 'the supervisor exits 0 on SIGTERM');
  }
});

test('SIGTERM lets an in-flight request finish, then exits 0', { timeout: 120_000 }, async () => {
  const server = await startServer({ PP_WORKERS: '0' });
  const input = await photo(2560, 1600);
  const inFlight = blur(server.base, input);
  // SIGTERM once the server holds the request (receiving, queued or processing), not after a guessed delay.
  let held = false;
  let answered = false;
  void inFlight.then(() => (answered = true));
  while (!held) {
    assert.equal(answered, false, 'the request was answered before the server was seen holding it');
    const body = (await (await fetch(`${server.base}/ready`)).json()) as { receiving: number; admitted: number };
    held = body.receiving + body.admitted > 0;
  }
  server.child.kill('SIGTERM');
  assert.equal(await inFlight, 200, 'the request that was being processed completes');
  assert.equal(await server.exited, 0);
  assert.match(server.output(), /shutting down/);
});

test('a slow upload and slow headers get 408 and the connection closed, and the service keeps serving', { timeout: 60_000 }, async () => {
  const { connect } = await import('node:net');
  const server = await startServer({ PP_WORKERS: '0', PP_REQUEST_TIMEOUT_SECONDS: '2', PP_HEADERS_TIMEOUT_SECONDS: '1' });
  try {
    const port = Number(new URL(server.base).port);
    const trickle = (head: string) =>
      new Promise<{ answer: string; ms: number }>((resolve) => {
        const started = performance.now();
        const socket = connect(port, '127.0.0.1', () => socket.write(head));
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
        socket.on('close', () => resolve({ answer, ms: performance.now() - started }));
        socket.on('error', () => {});
      });
    // Body promised, a few bytes sent, then nothing: the request timeout (2 s) ends it.
    const slowBody = await trickle('POST /resize?width=10 HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n\xff\xd8');
    assert.match(slowBody.answer, /^HTTP\/1\.1 408/);
    assert.ok(slowBody.ms < 5_000, `closed after ${slowBody.ms.toFixed(0)} ms`);
    // Headers never finished: the headers timeout (1 s) ends it.
    const slowHeaders = await trickle('POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    assert.match(slowHeaders.answer, /^HTTP\/1\.1 408/);
    assert.ok(slowHeaders.ms < 4_000, `closed after ${slowHeaders.ms.toFixed(0)} ms`);
    assert.equal(await blur(server.base, await photo(64, 48)), 200);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});
