/**
 * The library's run() has the same single deadline as the service (issue 12, findings 4 and 6): every step and the
 * encoder share limits.processTimeoutSeconds, an AbortSignal stops the work, and AVIF runs in a child process that is
 * killed at either, with no wiring by the caller.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { ImageError, type ErrorCode } from '../../src/core/errors.js';
import { run, type Step } from '../../src/core/pipeline.js';
import { photo } from '../../testkit/images.js';

/** Time allowed past the deadline or the abort: sharp stops in-process work at the next whole second, plus a noisy machine. */
const MARGIN_MS = 2_500;

const input = await photo(1600, 1600);

async function failsWith(promise: Promise<unknown>, code: ErrorCode, withinMs: number): Promise<void> {
  const started = performance.now();
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ImageError, String(err));
    assert.equal(err.code, code, err.detail);
    return true;
  });
  const ms = performance.now() - started;
  assert.ok(ms < withinMs, `${code} after ${ms.toFixed(0)} ms`);
}

// The first AVIF forks the child process; the bounds below are about the work, not the fork.
const warm = await run(await photo(32, 32), [{ operation: 'convert', params: { type: 'avif' } }]);
assert.equal(warm.type, 'avif');

test('an AVIF encode ends at the deadline with PP_TIMEOUT', { timeout: 60_000 }, async () => {
  // speed=1 on 2.5 MP is a minute of libaom work.
  const slow: Step[] = [{ operation: 'convert', params: { type: 'avif', speed: 1 } }];
  await failsWith(run(input, slow, { limits: { processTimeoutSeconds: 1 } }), 'PP_TIMEOUT', 1_000 + MARGIN_MS);
  // The killed child is replaced: the next encode works.
  const next = await run(await photo(32, 32), [{ operation: 'convert', params: { type: 'avif' } }]);
  assert.equal(next.type, 'avif');
});

test('aborting stops an AVIF encode with PP_CLIENT_GONE', { timeout: 60_000 }, async () => {
  const leave = new AbortController();
  const pending = run(input, [{ operation: 'convert', params: { type: 'avif', speed: 1 } }], { signal: leave.signal });
  setTimeout(() => leave.abort(), 300);
  await failsWith(pending, 'PP_CLIENT_GONE', 300 + MARGIN_MS);
});

test('an already aborted signal decodes nothing', async () => {
  await failsWith(run(input, [{ operation: 'blur', params: { sigma: 2 } }], { signal: AbortSignal.abort() }), 'PP_CLIENT_GONE', 100);
});

test('steps share one deadline, and ignore_failure does not skip it', { timeout: 60_000 }, async () => {
  const limits = { processTimeoutSeconds: 1, maxPipelineSteps: 20 };
  // One step (about 0.2 s here) finishes well within the 1 s deadline; twenty of them would take four times it.
  const steps: Step[] = Array.from({ length: 20 }, () => ({ operation: 'blur', params: { sigma: 50 }, ignoreFailure: true }));
  const one = await run(input, steps.slice(0, 1), { limits });
  assert.equal(one.width, 1600);
  await failsWith(run(input, steps, { limits }), 'PP_TIMEOUT', 1_000 + MARGIN_MS);
});

test('type=auto is negotiated in the child as in this process', async () => {
  const result = await run(input, [{ operation: 'resize', params: { width: 200, type: 'auto' } }], { negotiate: () => 'avif' });
  assert.deepEqual([result.type, result.mime, result.negotiated, result.width], ['avif', 'image/avif', true, 200]);
  const meta = await sharp(result.data).metadata();
  assert.deepEqual([meta.format, meta.width, meta.compression], ['heif', 200, 'av1']);
});
