/**
 * Processes the bench starts: spawn with a log file, wait until they answer, measure their memory and CPU from
 * /proc, and make sure every one of them is gone when the bench ends, however it ends.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const logDir = new URL('./.logs/', import.meta.url).pathname;

/** Every child ever started; each leads its own process group (detached), so killing -pid takes its workers too. */
const children = new Set<ChildProcess>();

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Last resort, synchronous so it also works from process.on('exit'). */
export function killAll(): void {
  for (const child of children) killGroup(child, 'SIGKILL');
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, stopping every server it started`);
    killAll();
    process.exit(130);
  });
}

/** SIGTERM the group, then SIGKILL whatever is left after a grace period. */
export async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (alive(child)) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killGroup(child, 'SIGTERM');
    await Promise.race([exited, sleep(graceMs)]);
  }
  // The leader may have exited while workers linger: always sweep the group.
  killGroup(child, 'SIGKILL');
  children.delete(child);
}

/** Start a command in its own process group, with stdout and stderr in bench/.logs/<name>.log. */
export function launch(name: string, command: string, args: string[], options: SpawnOptions & { ipc?: boolean } = {}): ChildProcess {
  mkdirSync(logDir, { recursive: true });
  // Piped and written by this process, not handed the file: a server's own write_bytes must count only what it
  // wrote itself (the stress run checks it writes nothing to disk), not its log lines.
  const log = createWriteStream(`${logDir}${name}.log`);
  const child = spawn(command, args, {
    ...options,
    detached: true,
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  children.add(child);
  return child;
}

/** A free loopback port: the OS picks one, so runs never collide with each other or with anything else. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Poll until the server answers anything at all on `url`. */
export async function waitReady(child: ChildProcess, name: string, url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(child)) throw new Error(`${name} exited during start-up; see ${logDir}${name}.log`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${name} did not answer ${url} within ${timeoutMs / 1000} s; see ${logDir}${name}.log`);
}

export interface Started {
  child: ChildProcess;
  url: string;
}

/**
 * pixelpress as `npm start` runs it (scripts/start.mjs: the allocator settings, the workers), on a free port, with
 * `env` over this process's environment. Request logging off (warn), as uvicorn's access log is off in the baseline:
 * both are measured without per-request log lines.
 */
export async function startPixelpress(name: string, env: Record<string, string> = {}): Promise<Started> {
  const port = await freePort();
  const child = launch(name, process.execPath, ['scripts/start.mjs'], {
    cwd: new URL('../', import.meta.url).pathname,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, name, `${url}/health`);
  return { child, url };
}

/** The process and all its descendants (a wrapper and its server, uvicorn and its workers). */
export function processTree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    const taskDir = `/proc/${pids[i]}/task`;
    if (!existsSync(taskDir)) continue;
    try {
      for (const task of readdirSync(taskDir)) {
        const text = readFileSync(`${taskDir}/${task}/children`, 'utf8').trim();
        if (text) pids.push(...text.split(/\s+/).map(Number));
      }
    } catch {
      // The process exited between listing and reading.
    }
  }
  return pids;
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

/** Resident memory of the whole tree in MB (VmRSS summed: pages shared between processes count in each). */
export function treeRssMb(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) kb += Number(/VmRSS:\s+(\d+)/.exec(readProc(p, 'status'))?.[1] ?? 0);
  return kb / 1024;
}

/**
 * CPU time (clock ticks) of the whole tree: user + system, plus with `reaped` the time of children that already
 * exited and were waited for (cutime + cstime).
 */
export function treeCpuTicks(pid: number, reaped = false): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    // Fields after the ")" that closes the command name: utime, stime, cutime, cstime are the 12th to 15th.
    const fields = (readProc(p, 'stat').split(') ')[1]?.split(' ') ?? []).map(Number);
    ticks += (fields[11] ?? 0) + (fields[12] ?? 0) + (reaped ? (fields[13] ?? 0) + (fields[14] ?? 0) : 0);
  }
  return ticks;
}

/**
 * CPU milliseconds the tree uses from now until the returned function is called: user + system of every process in
 * it (threads included), the children that exited in between too. This is what a user pays for a request, and the
 * figure the noise of a shared machine disturbs least.
 */
export function treeCpuMs(pid: number): () => number {
  const start = treeCpuTicks(pid, true);
  // USER_HZ is 100 on Linux: 10 ms a tick.
  return () => (treeCpuTicks(pid, true) - start) * 10;
}

/**
 * Cores' worth of CPU used by processes the bench did not start, between two calls. The machine may be shared
 * (other test suites, builds): their load slows every row, so the report says how much there was.
 */
export function foreignLoad(): () => number {
  const busy = () => {
    // /proc/stat "cpu" line: user nice system idle iowait irq softirq steal ...
    const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    return (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  };
  const machine0 = busy(), own0 = treeCpuTicks(process.pid, true), start = performance.now();
  // USER_HZ is 100 on Linux.
  return () => Math.max(0, busy() - machine0 - (treeCpuTicks(process.pid, true) - own0)) / 100 / ((performance.now() - start) / 1000);
}

/**
 * Wait until the server has finished work that a previous run left behind: autocannon closes its sockets when a
 * timed run ends, but the server still finishes the requests it had, and that CPU must not count against the next run.
 */
export async function waitIdle(pid: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let before = treeCpuTicks(pid);
  while (Date.now() < deadline) {
    await sleep(250);
    const now = treeCpuTicks(pid);
    // Under 3 ticks (30 ms) of CPU in 250 ms: idle apart from timers and GC.
    if (now - before < 3) return;
    before = now;
  }
}

/** Samples the tree's RSS every ~100 ms and keeps the peak since the last reset. */
export class RssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 100);
    this.timer.unref();
  }

  sample(): number {
    const mb = treeRssMb(this.pid);
    this.peak = Math.max(this.peak, mb);
    return mb;
  }

  /** Start a new peak from the current value. */
  reset(): void {
    this.peak = 0;
    this.sample();
  }

  get peakMb(): number {
    this.sample();
    return this.peak;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
