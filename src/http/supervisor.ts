/**
 * The cluster primary: forks the HTTP workers and restarts any that dies, so a native crash inside libvips
 * (a segfault no JavaScript can catch) costs the requests of one worker, not the service.
 */
import cluster, { type Worker } from 'node:cluster';

export interface SupervisorOptions {
  workers: number;
  /** Seconds to wait for workers to finish in-flight requests on SIGTERM/SIGINT. */
  shutdownGraceSeconds: number;
  log: (message: string, fields?: Record<string, unknown>) => void;
}

export function supervise(options: SupervisorOptions): void {
  let stopping = false;
  let restarts = 0;
  const recentDeaths: number[] = [];

  const fork = (): Worker => cluster.fork({ PP_WORKER_RESTARTS: String(restarts) });

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    restarts++;
    const now = Date.now();
    recentDeaths.push(now);
    while (recentDeaths.length > 0 && now - recentDeaths[0]! > 60_000) recentDeaths.shift();
    // A worker that dies at start-up (bad config) would otherwise be restarted in a tight loop.
    const delay = recentDeaths.length > 5 ? 5_000 : 100;
    options.log('worker died; starting a new one', { pid: worker.process.pid, code, signal, restarts, delayMs: delay });
    // A restart still pending when a stop arrives must not start a worker nobody will stop.
    setTimeout(() => {
      if (!stopping) fork();
    }, delay).unref();
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    options.log('stopping workers', { signal });
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(0);
    for (const worker of workers) worker?.process.kill(signal);
    setTimeout(() => process.exit(1), (options.shutdownGraceSeconds + 2) * 1000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  for (let i = 0; i < options.workers; i++) fork();
}
