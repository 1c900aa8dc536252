/**
 * The floor: the same sharp pipeline as the service, called in-process with no HTTP, by `connections` concurrent
 * promises. It runs in a child process (started by run.ts over IPC) so that its RSS is measured like a server's,
 * and it is set up like scripts/start.mjs sets up the server (jemalloc, libuv pool size, sharp cache off), so the
 * gap between floor and service is the HTTP layer, not process settings.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { run, type Step } from '../src/core/pipeline.js';
import type { Source } from '../src/core/params.js';
import { percentile, type Measure, type RunLength } from './load.js';
import { treeCpuMs } from './procs.js';

export interface FloorJob {
  file: string;
  steps: Step[];
  source: Source;
  connections: number;
  warmup: RunLength;
  measure: RunLength;
}

// As src/process/server.ts: every input is new, so libvips' operation cache would only hold memory.
sharp.cache(false);

async function drive(input: Buffer, job: FloorJob, length: RunLength): Promise<Measure> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError = '';
  let issued = 0;
  const start = performance.now();
  const deadline = 'seconds' in length ? start + length.seconds * 1000 : Infinity;
  const more = () => ('amount' in length ? issued < length.amount : performance.now() < deadline);
  const worker = async () => {
    while (more()) {
      issued++;
      const begun = performance.now();
      try {
        await run(input, job.steps, { source: job.source });
        // Like autocannon at the end of a timed run: answers after the deadline are not counted.
        if (performance.now() <= deadline) latencies.push(performance.now() - begun);
      } catch (err) {
        errors++;
        firstError ||= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: job.connections }, worker));
  const seconds = 'seconds' in length ? length.seconds : (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    seconds,
    reqPerSec: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
    errorDetail: firstError,
  };
}

process.on('message', (job: FloorJob) => {
  void (async () => {
    const input = readFileSync(job.file);
    await drive(input, job, job.warmup);
    // Every thread of this process (libvips', the libuv pool's, JavaScript's) and its children: AVIF is encoded in a
    // child process, as in the server.
    const cpu = treeCpuMs(process.pid);
    const measure = await drive(input, job, job.measure);
    process.send?.({ ...measure, cpuMs: cpu() });
  })().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
});
process.send?.('ready');
