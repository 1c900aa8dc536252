/**
 * Admission and concurrency for image work. A request is admitted when it arrives (before its body is read),
 * so at most `concurrency + queueSize` uploads are ever held in memory; past that it gets 503 at once.
 * Admitted requests then wait for one of `concurrency` processing slots, in arrival order.
 */
import { ImageError } from '../core/errors.js';

export interface SchedulerOptions {
  /** Images processed at once. libvips already threads each image, so about one per core. */
  concurrency: number;
  /** Admitted requests allowed to wait for a slot; this bounds memory held by queued uploads. */
  queueSize: number;
}

export interface Scheduler {
  /** Admit a request or throw PP_OVERLOADED; call the returned release() exactly once when it is answered. */
  admit(): () => void;
  /** Run `work` in a processing slot; rejects with PP_CLIENT_GONE if `signal` aborts while waiting. */
  run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Requests admitted and not yet answered (receiving, queued or processing). */
  readonly admitted: number;
  /** Requests waiting for a processing slot. */
  readonly queued: number;
  /** Requests being processed. */
  readonly running: number;
  readonly saturated: boolean;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { concurrency, queueSize } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`Expected positive integer for concurrency but received ${concurrency}`);
  if (!Number.isInteger(queueSize) || queueSize < 0) throw new TypeError(`Expected non-negative integer for queueSize but received ${queueSize}`);
  let admitted = 0;
  let running = 0;
  const waiting: (() => void)[] = [];

  const next = () => {
    running--;
    waiting.shift()?.();
  };

  return {
    admit() {
      if (admitted >= concurrency + queueSize) {
        throw new ImageError('PP_OVERLOADED', `Server busy: ${admitted} requests in progress; retry shortly`);
      }
      admitted++;
      let released = false;
      return () => {
        if (!released) admitted--;
        released = true;
      };
    },
    async run(work, signal) {
      if (running >= concurrency) {
        await new Promise<void>((resolve, reject) => {
          const wake = () => {
            signal?.removeEventListener('abort', gone);
            resolve();
          };
          const gone = () => {
            const index = waiting.indexOf(wake);
            if (index >= 0) waiting.splice(index, 1);
            reject(new ImageError('PP_CLIENT_GONE', 'The client closed the connection before processing started'));
          };
          if (signal?.aborted) return gone();
          signal?.addEventListener('abort', gone, { once: true });
          waiting.push(wake);
        });
      }
      if (signal?.aborted) throw new ImageError('PP_CLIENT_GONE', 'The client closed the connection before processing started');
      running++;
      try {
        return await work();
      } finally {
        next();
      }
    },
    get admitted() {
      return admitted;
    },
    get queued() {
      return waiting.length;
    },
    get running() {
      return running;
    },
    get saturated() {
      return admitted >= concurrency + queueSize;
    },
  };
}
