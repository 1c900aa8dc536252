/** The real process: a worker killed like a libvips segfault is replaced, and SIGTERM drains in-flight work. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { photo } from '../helpers/images.js';
import { startServer } from '../helpers/server-process.js';

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
    await new Promise((resolve) => setTimeout(resolve, 300));
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
  await new Promise((resolve) => setTimeout(resolve, 150));
  server.child.kill('SIGTERM');
  assert.equal(await inFlight, 200, 'the request that was being processed completes');
  assert.equal(await server.exited, 0);
  assert.match(server.output(), /shutting down/);
});
