/**
 * The cluster primary: forks the HTTP workers and restarts any that dies, so a native crash inside libvips
 * (a segfault no JavaScript can catch) costs the requests of one worker, not the service. It never gives up while
 * it is meant to serve: only a crash loop past the documented threshold ends it, with a non-zero code, so that a
 * container orchestrator restarts the pod instead of keeping a supervisor with no workers.
 */
import cluster, { type Worker } from 'node:cluster';

export interface SupervisorOptions {
  workers: number;
  /** Seconds to wait for workers to finish in-flight requests on SIGTERM/SIGINT. */
  shutdownGraceSeconds: number;
  /** Worker deaths within one minute that count as a crash loop: the supervisor then exits 1. */
  crashLoopDeaths: number;
  log: (message: string, fields?: Record<string, unknown>) => void;
}

/** First restart delay: quick enough that a killed single worker is back well inside 2 s. */
const FIRST_RESTART_MS = 100;
/** Longest wait between restarts, so a worker that dies at start-up is not restarted in a tight loop. */
const MAX_RESTART_MS = 5_000;
const CRASH_WINDOW_MS = 60_000;

/** Restart delay after `recent` deaths in the window: every worker dying at once still restarts at once. */
export function restartDelayMs(recent: number, workers: number): number {
  const beyond = recent - 2 * workers;
  return beyond <= 0 ? FIRST_RESTART_MS : Math.min(MAX_RESTART_MS, FIRST_RESTART_MS * 2 ** beyond);
}

export function supervise(options: SupervisorOptions): void {
  let stopping = false;
  /** 0 for a requested stop; 1 when a crash loop ends the service. */
  let exitCode = 0;
  let restarts = 0;
  const recentDeaths: number[] = [];

  /** Restarts owed and not yet begun; they begin one at a time (see startNext). */
  let owed = 0;
  let starting: Worker | undefined;
  /**
   * Begin one owed restart unless another is still starting. One at a time, because a worker's start is CPU-bound
   * (about 1 s of module loading): when every worker died, the first replacement gets the whole machine and the
   * service answers again sooner than if all started together.
   */
  const startNext = () => {
    // A restart still pending when a stop arrives must not start a worker nobody will stop.
    if (stopping || starting || owed === 0) return;
    owed--;
    const worker = cluster.fork();
    starting = worker;
    worker.once('listening', () => {
      if (starting === worker) starting = undefined;
      startNext();
    });
  };

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
      return;
    }
    restarts++;
    const now = Date.now();
    recentDeaths.push(now);
    while (recentDeaths.length > 0 && now - recentDeaths[0]! > CRASH_WINDOW_MS) recentDeaths.shift();
    if (recentDeaths.length > options.crashLoopDeaths) {
      options.log('crash loop: workers keep dying; exiting so the orchestrator restarts the service', {
        pid: worker.process.pid, code, signal, deathsInLastMinute: recentDeaths.length, threshold: options.crashLoopDeaths,
      });
      exitCode = 1;
      stop('SIGTERM');
      return;
    }
    const delay = restartDelayMs(recentDeaths.length, options.workers);
    options.log('worker died; starting a new one', { pid: worker.process.pid, code, signal, restarts, delayMs: delay });
    if (worker === starting) starting = undefined;
    owed++;
    // Not unref()'d: with every worker dead this timer is all that keeps the supervisor alive until the restart.
    setTimeout(startNext, delay);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    options.log('stopping workers', { signal });
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(exitCode);
    for (const worker of workers) worker?.process.kill(signal);
    setTimeout(() => process.exit(1), (options.shutdownGraceSeconds + 2) * 1000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  for (let i = 0; i < options.workers; i++) cluster.fork();
}
