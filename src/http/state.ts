/** Per-app service state shared by routes, readiness and metrics, and per-request figures for metrics and logs. */
import type { FastifyRequest } from 'fastify';
import type { Scheduler } from './scheduler.js';

export interface ServiceState {
  readonly scheduler: Scheduler;
  /** Set on SIGTERM/SIGINT: /ready turns false so load balancers stop sending new work. */
  draining: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    pixelpress: ServiceState;
  }
}

export type Stage = 'receive' | 'queue' | 'process' | 'send';

export interface RequestStats {
  /** Seconds spent in each stage of an image request. */
  stages: Partial<Record<Stage, number>>;
  bytesIn: number;
  bytesOut: number;
  /** The problem code the request was answered with, if any. */
  problem?: string;
}

const stats = new WeakMap<FastifyRequest, RequestStats>();

export function statsOf(request: FastifyRequest): RequestStats {
  let entry = stats.get(request);
  if (!entry) {
    entry = { stages: {}, bytesIn: 0, bytesOut: 0 };
    stats.set(request, entry);
  }
  return entry;
}

export function peekStats(request: FastifyRequest): RequestStats | undefined {
  return stats.get(request);
}

/**
 * Time an async stage of `request`, in seconds, added to what the stage took before: a raw body is received by its
 * content-type parser before the handler runs, and a step's remote images are fetched after it, both as `receive`.
 */
export async function timed<T>(request: FastifyRequest, stage: Stage, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    const { stages } = statsOf(request);
    stages[stage] = (stages[stage] ?? 0) + (performance.now() - start) / 1000;
  }
}

/**
 * The stages timed so far as a Server-Timing header (W3C Server Timing: `name;dur=milliseconds`): browsers' developer
 * tools show it, and the playground shows the processing time from it rather than a round trip that includes the upload.
 */
export function serverTiming(stages: RequestStats['stages']): string {
  return (['receive', 'queue', 'process'] as const)
    .filter((stage) => stages[stage] !== undefined)
    .map((stage) => `${stage};dur=${(stages[stage]! * 1000).toFixed(1)}`)
    .join(', ');
}
