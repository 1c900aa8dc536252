/** The supervisor never gives up while it is meant to serve: every worker dead at once is restarted, and only a crash loop ends it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restartDelayMs } from '../../src/process/supervisor.js';
import { freePort } from '../../bench/procs.js';
import { startServer, type ServerProcess } from '../../testkit/server-process.js';

const listeningPids = (output: string) => new Set([...output.matchAll(/"pid":(\d+),"hostname"[^\n]*Server listening/g)].map((m) => Number(m[1])));

/** Poll until `condition` holds; the deadline is a backstop for a hung test, never the thing asserted. */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function healthy(base: string): Promise<boolean> {
  try {
    const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(500) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Kill every listening worker at once with SIGKILL and return how long until /health answers 200 again. */
async function killAllAndTimeRecovery(server: ServerProcess, workers: number): Promise<number> {
  await until(() => [...listeningPids(server.output())].filter(alive).length >= workers, `${workers} workers listening`);
  const pids = [...listeningPids(server.output())].filter(alive);
  const killedAt = performance.now();
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  // Wait until the dead workers stop answering, so a 200 below comes from a new worker.
  await until(() => pids.every((pid) => !alive(pid)), 'the workers to die');
  await until(() => healthy(server.base), 'the service to answer again');
  return performance.now() - killedAt;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('restart delays: every worker dying at once restarts quickly; only repeated deaths back off, up to 5 s', () => {
  assert.equal(restartDelayMs(1, 1), 100);
  assert.equal(restartDelayMs(2, 1), 100);
  assert.equal(restartDelayMs(4, 2), 100, 'two workers killed twice in a minute still restart at once');
  assert.equal(restartDelayMs(3, 1), 200);
  assert.equal(restartDelayMs(5, 1), 800);
  assert.equal(restartDelayMs(50, 1), 5_000);
});

/** The supervisor's "worker died" lines: the delay it chose before starting each replacement. */
const restartDelays = (output: string) =>
  output.split('\n').filter((line) => line.includes('"msg":"worker died; starting a new one"')).map((line) => Number(/"delayMs":(\d+)/.exec(line)?.[1]));

for (const workers of [1, 2]) {
  // What is asserted is the mechanism: every death is seen, each replacement is started after the shortest delay
  // (no back-off for first deaths), and the service answers again. How fast that is on a quiet machine is a figure
  // for `npm run stress` (722 ms there), not a bound for a test sharing two cores with whatever else runs.
  test(`with PP_WORKERS=${workers}, killing every worker at once: each is restarted at once and the service answers again`, { timeout: 90_000 }, async (t) => {
    // A fixed port: with PORT=0 the cluster picks a new random port once every worker is gone (its shared handle
    // closes), which is not what a deployment on a fixed port sees.
    const server = await startServer({ PP_WORKERS: String(workers), PORT: String(await freePort()) });
    try {
      const first = await killAllAndTimeRecovery(server, workers);
      assert.deepEqual(restartDelays(server.output()), Array(workers).fill(100), 'each death restarted after 100 ms');
      // And again: the second time is not slower (no back-off for the first deaths of each worker).
      const second = await killAllAndTimeRecovery(server, workers);
      assert.deepEqual(restartDelays(server.output()), Array(2 * workers).fill(100), 'the second deaths restarted after 100 ms too');
      assert.equal(server.child.exitCode, null, 'the supervisor is still running');
      t.diagnostic(`answered again after ${first.toFixed(0)} ms, then ${second.toFixed(0)} ms`);
    } finally {
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0, 'a requested stop still exits 0');
    }
  });
}

test('a crash loop past PP_CRASH_LOOP_DEATHS ends the supervisor with a non-zero code', { timeout: 60_000 }, async () => {
  const server = await startServer({ PP_WORKERS: '1', PP_CRASH_LOOP_DEATHS: '2' });
  for (let death = 1; death <= 3; death++) {
    await until(() => listeningPids(server.output()).size >= death, `worker ${death} listening`);
    const pid = [...listeningPids(server.output())].at(-1)!;
    process.kill(pid, 'SIGKILL');
    await until(() => !alive(pid), `worker ${death} to die`);
  }
  assert.equal(await server.exited, 1);
  assert.match(server.output(), /crash loop/);
});
