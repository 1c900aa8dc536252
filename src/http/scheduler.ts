/**
 * Admission and concurrency for image work, in two stages. An upload is first admitted to be received: that gate
 * is wide (many slow networks at once) but bounded by a count and by the bytes its uploads may buffer. Only once
 * its body is complete is a request admitted to processing, so at most `concurrency + queueSize` are queued or
 * processing; past that it gets 503 at once. A client that sends nothing therefore never holds a processing place.
 * Admitted requests wait for one of `concurrency` processing slots, in arrival order.
 */
import { availableParallelism } from 'node:os';
import { ImageError } from '../core/errors.js';

export interface SchedulerOptions {
  /** Images processed at once. libvips already threads each image, so about one per core. */
  concurrency: number;
  /** Received requests allowed to wait for a slot; this bounds memory held by queued uploads. */
  queueSize: number;
  /** Uploads being received at once, before their processing admission. */
  maxReceiving?: number;
  /**
   * Bytes the uploads being received may buffer together. Each reserves its declared Content-Length (Node never
   * delivers more body than that) or, when chunked, the most the upload parsers accept. One upload is always
   * admitted when none is being received, so the bound is max(this, one upload).
   */
  maxReceiveBytes?: number;
}

/** Defaults for the receive gate: wide enough for many slow clients, each place costs no memory until bytes arrive. */
export const defaultReceiveLimits = { maxReceiveBytes: 256 * 1024 * 1024 } as const;

/**
 * The defaults, in one place for the app and the environment: one image per core in each process (while one waits on
 * its upload or on JavaScript, another keeps libvips busy) and four queue places per processing place.
 */
export function schedulerOptions(given: Partial<SchedulerOptions> = {}): SchedulerOptions {
  const concurrency = given.concurrency ?? availableParallelism();
  return { concurrency, queueSize: 4 * concurrency, ...defaultReceiveLimits, ...given };
}

/**
 * Uploads received at once by default: twice the processing places. More would only receive bodies that are refused
 * once complete (under a 64-client overload, 128 places cut accepted throughput by a quarter); fewer would let a
 * burst of slow clients fill the gate before the watchdog can end them.
 */
export const defaultMaxReceiving = (concurrency: number, queueSize: number): number => 2 * (concurrency + queueSize);

export interface Scheduler {
  /**
   * Admit an upload to be received, reserving `bytes`; throws PP_OVERLOADED when processing is saturated (the upload
   * would be refused once read) or the receive gate is full. Call the returned release() when its body is complete
   * or it is answered; it is idempotent. When the gate is full, `makeRoom` is asked to end one upload that is
   * behind the minimum rate (returning false when there is none), so a slow client cannot keep a fast one out.
   */
  receive(bytes: number, makeRoom?: () => boolean): () => void;
  /** Admit a received request to processing or throw PP_OVERLOADED; call the returned release() when it is answered. */
  admit(): () => void;
  /** Run `work` in a processing slot; rejects with PP_CLIENT_GONE if `signal` aborts while waiting. */
  run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Uploads being received and not yet admitted to processing. */
  readonly receiving: number;
  /** Bytes reserved by the uploads being received. */
  readonly receivingBytes: number;
  /** Requests admitted to processing and not yet answered (queued or processing). */
  readonly admitted: number;
  /** Requests waiting for a processing slot. */
  readonly queued: number;
  /** Requests being processed. */
  readonly running: number;
  /** No new upload would be taken: every processing place is taken, or the receive gate is full. */
  readonly saturated: boolean;
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new TypeError(`Expected ${min === 0 ? 'non-negative' : 'positive'} integer for ${name} but received ${value}`);
  }
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { concurrency, queueSize, maxReceiving = defaultMaxReceiving(concurrency, queueSize), maxReceiveBytes = defaultReceiveLimits.maxReceiveBytes } = options;
  checkCount('concurrency', concurrency, 1);
  checkCount('queueSize', queueSize, 0);
  checkCount('maxReceiving', maxReceiving, 1);
  checkCount('maxReceiveBytes', maxReceiveBytes, 1);
  let receiving = 0;
  let receivingBytes = 0;
  let admitted = 0;
  let running = 0;
  const waiting: (() => void)[] = [];

  const processingFull = () => admitted >= concurrency + queueSize;
  const receiveFull = () => receiving >= maxReceiving || receivingBytes >= maxReceiveBytes;

  const next = () => {
    running--;
    waiting.shift()?.();
  };

  return {
    receive(bytes, makeRoom) {
      if (processingFull()) {
        throw new ImageError('PP_OVERLOADED', `Server busy: ${admitted} requests queued or processing; retry shortly`);
      }
      const fits = () => receiving < maxReceiving && (receiving === 0 || receivingBytes + bytes <= maxReceiveBytes);
      // Each call ends one upload, so this stops after at most `receiving` rounds even if makeRoom misbehaves.
      for (let rounds = receiving; !fits() && rounds > 0 && makeRoom?.(); rounds--);
      if (!fits()) {
        throw new ImageError('PP_OVERLOADED', `Server busy: ${receiving} uploads being received; retry shortly`);
      }
      receiving++;
      receivingBytes += bytes;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        receiving--;
        receivingBytes -= bytes;
      };
    },
    admit() {
      if (processingFull()) {
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
    get receiving() {
      return receiving;
    },
    get receivingBytes() {
      return receivingBytes;
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
      return processingFull() || receiveFull();
    },
  };
}
