/** Overload, readiness and metrics: a full server answers 503 + Retry-After at once and recovers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createScheduler } from '../../src/http/scheduler.js';
import { photo } from '../../testkit/images.js';
import { postFile, postRaw, testApp } from '../../testkit/http.js';

test('the scheduler admits concurrency + queue, runs in order, and frees places', async () => {
  const scheduler = createScheduler({ concurrency: 1, queueSize: 1 });
  const releases = [scheduler.admit(), scheduler.admit()];
  assert.throws(() => scheduler.admit(), /Server busy: 2 requests in progress/);
  assert.equal(scheduler.saturated, true);
  const order: number[] = [];
  let unblock!: () => void;
  const first = scheduler.run(() => new Promise<void>((resolve) => { unblock = resolve; }).then(() => order.push(1)));
  const second = scheduler.run(async () => order.push(2));
  assert.equal(scheduler.running, 1);
  assert.equal(scheduler.queued, 1);
  unblock();
  await Promise.all([first, second]);
  assert.deepEqual(order, [1, 2]);
  releases.forEach((release) => { release(); release(); });
  assert.equal(scheduler.admitted, 0, 'release is idempotent');
});

test('a waiting request whose client is gone is dropped before processing', async () => {
  const scheduler = createScheduler({ concurrency: 1, queueSize: 4 });
  let unblock!: () => void;
  const busy = scheduler.run(() => new Promise<void>((resolve) => { unblock = resolve; }));
  const gone = new AbortController();
  let ran = false;
  const waiting = scheduler.run(async () => { ran = true; }, gone.signal);
  gone.abort();
  await assert.rejects(waiting, (err: Error & { code?: string }) => err.code === 'PP_CLIENT_GONE');
  assert.equal(scheduler.queued, 0);
  unblock();
  await busy;
  assert.equal(ran, false);
});

test('past the queue the server answers 503 with Retry-After immediately, then serves again', async () => {
  const app = await testApp({ scheduler: { concurrency: 1, queueSize: 1 } });
  const input = await photo(1600, 1000);
  // Each answer with the moment it arrived, to check the 503s did not wait for any processing.
  let order = 0;
  const responses = await Promise.all(Array.from({ length: 6 }, () => postFile(app, '/', 'img', input).then((response) => ({ response, arrived: order++ }))));
  const statuses = responses.map((r) => r.response.statusCode).sort();
  assert.deepEqual(statuses, [200, 200, 503, 503, 503, 503]);
  const rejected = responses.filter((r) => r.response.statusCode === 503);
  for (const { response } of rejected) {
    assert.equal(response.headers['retry-after'], '1');
    assert.equal(response.json().code, 'PP_OVERLOADED');
  }
  const firstImage = Math.min(...responses.filter((r) => r.response.statusCode === 200).map((r) => r.arrived));
  assert.ok(rejected.every((r) => r.arrived < firstImage), 'every 503 was answered before the first image: at once, not after a wait');
  assert.equal((await postFile(app, '/', 'img', input)).statusCode, 200, 'serves again once the queue drains');
  assert.equal(app.pixelpress.scheduler.admitted, 0, 'every place was given back');
  await app.close();
});

test('/ready is false while draining or saturated; /health stays true', async () => {
  const app = await testApp({ scheduler: { concurrency: 1, queueSize: 0, maxReceiving: 2 } });
  assert.equal((await app.inject('/ready')).statusCode, 200);
  const release = app.pixelpress.scheduler.admit();
  const saturated = await app.inject('/ready');
  assert.equal(saturated.statusCode, 503);
  assert.equal(saturated.json().ready, false);
  release();
  assert.equal((await app.inject('/ready')).statusCode, 200);
  // Uploads being received fill their own gate, not a processing place; a full gate is not ready either.
  const receiving = [app.pixelpress.scheduler.receive(0), app.pixelpress.scheduler.receive(0)];
  const full = await app.inject('/ready');
  assert.equal(full.statusCode, 503, 'a full receive gate');
  assert.equal(full.json().admitted, 0);
  receiving.forEach((done) => done());
  app.pixelpress.draining = true;
  assert.equal((await app.inject('/ready')).statusCode, 503);
  assert.equal((await app.inject('/health')).statusCode, 200);
  await app.close();
});

test('/metrics counts requests by route and status, stages, bytes and rejections', async () => {
  const app = await testApp();
  const input = await photo(200, 100);
  await postFile(app, '/', 'img', input);
  // Parameters are checked before the upload is read, so this one adds no bytes in.
  await postRaw(app, '/resize?width=abc', input);
  const text = (await app.inject('/metrics')).body;
  assert.match(text, /pixelpress_http_requests_total\{route="\/",method="POST",status="200"\} 1/);
  assert.match(text, /pixelpress_http_requests_total\{route="\/resize",method="POST",status="400"\} 1/);
  for (const stage of ['receive', 'queue', 'process', 'send']) {
    assert.match(text, new RegExp(`pixelpress_request_stage_seconds_count\\{route="/",stage="${stage}"\\} 1`));
  }
  assert.match(text, new RegExp(`pixelpress_image_bytes_total\\{direction="in"\\} ${input.length}`));
  assert.match(text, /pixelpress_rejections_total\{reason="PP_INVALID_PARAM"\} 1/);
  assert.match(text, /pixelpress_queue_length 0/);
  assert.match(text, /pixelpress_inflight 0/);
  assert.match(text, /pixelpress_receiving 0/);
  assert.match(text, /pixelpress_receiving_bytes 0/);
  await app.close();
});
