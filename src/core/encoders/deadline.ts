/**
 * One deadline per request: every step, every encoder and every text render of a request shares it, so ten steps
 * cannot take ten time limits. It also carries the client's abort signal, so work stops when no one waits for it.
 */
import type { Sharp } from 'sharp';
import { ImageError } from '../errors.js';

/** sharp refuses a timeout over an hour. */
const SHARP_MAX_TIMEOUT_SECONDS = 3600;

export class Deadline {
  private readonly endsAt: number;

  /** `limitSeconds` is the configured limit the timeout's message names; `remainingMs` is what is left of it (all by default). */
  constructor(
    private readonly limitSeconds: number,
    private readonly signal?: AbortSignal,
    remainingMs: number = limitSeconds * 1000,
  ) {
    this.endsAt = performance.now() + remainingMs;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - performance.now());
  }

  /** Why the work must stop now, if it must: the client left, or the time is up. */
  reason(): ImageError | undefined {
    if (this.signal?.aborted) return new ImageError('PP_CLIENT_GONE', 'The client closed the connection while its image was processed');
    if (this.endsAt <= performance.now()) return this.timedOut();
    return undefined;
  }

  private timedOut(): ImageError {
    return new ImageError('PP_TIMEOUT', `Processing the image took longer than the limit of ${this.limitSeconds} s`);
  }

  check(): void {
    const reason = this.reason();
    if (reason) throw reason;
  }

  /**
   * Give a sharp pipeline what is left of the deadline, just before it runs. sharp counts whole seconds from the start of
   * its run, so this rounds up: libvips stops at most a second after the deadline, never before it.
   */
  bound<T extends Sharp>(pipeline: T): T {
    this.check();
    pipeline.timeout({ seconds: Math.min(SHARP_MAX_TIMEOUT_SECONDS, Math.ceil(this.remainingMs() / 1000)) });
    return pipeline;
  }

  /** Call `stop` once, when the time is up or the client leaves (never synchronously); the returned function cancels that. */
  onStop(stop: (reason: ImageError) => void): () => void {
    let done = false;
    const fire = () => {
      if (done) return;
      cancel();
      // A timer may fire a hair before the deadline it was set for.
      stop(this.reason() ?? this.timedOut());
    };
    const timer = setTimeout(fire, this.remainingMs());
    this.signal?.addEventListener('abort', fire, { once: true });
    if (this.signal?.aborted) queueMicrotask(fire);
    const cancel = () => {
      done = true;
      clearTimeout(timer);
      this.signal?.removeEventListener('abort', fire);
    };
    return cancel;
  }
}
