/**
 * The bounded worker-thread pool every decode of this module runs in (piscina). The event loop never decodes: a file
 * that makes a codec loop or allocate only costs its own worker, which is terminated when the decode's deadline
 * passes or its client leaves, and replaced by piscina for the next task.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { ImageError } from '../errors.js';
import type { DecodeTask } from './types.js';
import type { WorkerReply } from './worker.js';

// From source (tsx, tests) the worker is TypeScript and inherits tsx through execArgv; built, it is plain JavaScript.
const fromSource = import.meta.url.endsWith('.ts');
const workerFile = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url).href;

export interface DecoderPoolOptions {
  /** Worker threads; more than the cores would only share them. */
  maxThreads: number;
  /** Decodes waiting for a worker; past that a decode is refused as PP_OVERLOADED. */
  maxQueue: number;
  /** JavaScript heap of one worker (resourceLimits); the pure-JavaScript BMP/ICO decoders live in it. */
  heapMb: number;
}

export const defaultDecoderPoolOptions: Readonly<DecoderPoolOptions> = Object.freeze({
  maxThreads: Math.max(1, Math.min(4, availableParallelism())),
  maxQueue: 64,
  heapMb: 256,
});

let pool: Piscina | undefined;
let poolOptions: DecoderPoolOptions = { ...defaultDecoderPoolOptions };

/** Change the pool's size or limits; takes effect for the next pool (call before the first decode, or after close). */
export function configureDecoderPool(options: Partial<DecoderPoolOptions>): void {
  poolOptions = { ...poolOptions, ...options };
}

function getPool(): Piscina {
  pool ??= new Piscina({
    filename: workerFile,
    minThreads: 0,
    maxThreads: poolOptions.maxThreads,
    maxQueue: poolOptions.maxQueue,
    // A worker is made when a decode needs one and leaves after a while idle, so the pool never holds an idle CLI open.
    idleTimeout: 10_000,
    // One decode at a time per thread: the memory cap is per decode.
    concurrentTasksPerWorker: 1,
    resourceLimits: { maxOldGenerationSizeMb: poolOptions.heapMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
  });
  return pool;
}

/** End every worker (server shutdown, tests). A later decode starts a new pool. */
export async function closeDecoderPool(): Promise<void> {
  const current = pool;
  pool = undefined;
  await current?.destroy();
}

/** Workers alive now, for tests that prove a hostile decode's worker was replaced. */
export function decoderThreads(): readonly { threadId: number }[] {
  return pool?.threads ?? [];
}

/**
 * Run one task in the pool. `signal` aborts it (the deadline or the client): a queued task is dropped, a running one's
 * worker is terminated. `stopReason` says why, so the caller gets PP_TIMEOUT or PP_CLIENT_GONE, not an AbortError.
 */
export async function runDecode(task: DecodeTask, signal: AbortSignal, stopReason: () => ImageError): Promise<WorkerReply> {
  if (signal.aborted) throw stopReason();
  try {
    return (await getPool().run(task, { signal })) as WorkerReply;
  } catch (err) {
    if (signal.aborted) throw stopReason();
    const message = err instanceof Error ? err.message : String(err);
    if (/queue is at limit/i.test(message)) throw new ImageError('PP_OVERLOADED', 'Every decoder worker is busy and the decode queue is full', { cause: err });
    // resourceLimits: V8 terminates a worker whose heap outgrows its limit (ERR_WORKER_OUT_OF_MEMORY).
    if (/out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(message) || (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
      throw new ImageError('PP_TOO_MANY_PIXELS', 'Decoding the image needs more memory than the decoder limit allows', { cause: err });
    }
    throw err;
  }
}
