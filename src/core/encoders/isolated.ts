/**
 * A request whose work libvips cannot interrupt (AVIF, GIF and whole-image PNG/JPEG encoders, SVG and text renders)
 * runs whole in a child process, which is killed with SIGKILL when the request's deadline passes or its client leaves:
 * the CPU is free at once. A worker thread could not be stopped inside native code; a process can.
 *
 * Children are forked on first need, one request at a time each, and kept warm for the next request; a killed one is
 * replaced when next needed. AVIF has its own, smaller and niced, pool (see Pool). Only the encoded upload and the encoded result cross the IPC
 * channel, never decoded pixels. This lives in core, not beside the HTTP server, so that run() in the library and the
 * CLI get the same deadline by default.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { ImageError, type ErrorCode } from '../errors.js';
import type { DecodePolicy, Limits } from '../limits.js';
import type { StepOptions } from '../options.js';
import type { OutputType } from '../params.js';
import type { RunResult } from '../run-result.js';
import type { Deadline } from './deadline.js';

/** One request, as the child needs it: plain data only. */
export interface IsolatedJob {
  input: Buffer;
  steps: { operation: string; options: StepOptions; ignoreFailure: boolean; label: string | undefined }[];
  limits: Limits;
  decode: DecodePolicy | undefined;
  /** type=auto's answer for each format the request could otherwise write. */
  negotiated: Readonly<Record<OutputType, OutputType>> | undefined;
  /** Images the steps name by URL, fetched by the parent: the child never opens a connection. */
  remote?: ReadonlyMap<string, Buffer> | undefined;
}

/** What the parent sends: the job, what is left of its deadline, and this process's libvips thread count. */
export interface IsolatedRequest {
  job: IsolatedJob;
  remainingMs: number;
  concurrency: number;
  /** Set when type=auto may pick AVIF: above this many output pixels it writes WebP instead (see encode.ts). */
  autoAvifMaxPixels: number | undefined;
}

export type IsolatedReply =
  | { ok: true; result: RunResult }
  | { ok: false; code: ErrorCode | undefined; detail: string; stack: string | undefined };

// From source (tsx, tests) the child is TypeScript too and needs the same loader; built, it is plain JavaScript.
const fromSource = import.meta.url.endsWith('.ts');
const childEntry = new URL(fromSource ? './isolated-child.ts' : './isolated-child.js', import.meta.url);
// Resolved when first needed, so that importing core never depends on tsx.
const childExecArgv = () => (fromSource ? ['--import', import.meta.resolve('tsx')] : []);

/**
 * Children run one request at a time, in two pools:
 * - general: up to one per core; more would only share the same CPUs, and requests past that wait, on their deadlines.
 * - avif: AVIF encodes cost seconds of CPU each (a hundred small blurs), so they get their own places, one per worker
 *   process by default, and run at a lower CPU priority (nice 10: about a tenth of a normal process's share when both
 *   want a core). Eight AVIF requests then wait for their place instead of taking every core, and the cheap requests
 *   of the same worker keep their latency while AVIF uses what CPU is left.
 */
class Pool {
  private readonly idle: ChildProcess[] = [];
  private readonly waiting: ((child: ChildProcess) => void)[] = [];
  private children = 0;

  constructor(
    private readonly max: number,
    /** Nice value the children set on themselves at start; 0 leaves them as this process. */
    private readonly nice: number,
  ) {}

  private spawnChild(): ChildProcess {
    // No stdout: the server's stdout is its JSON log. stderr is shared, so a crash is seen.
    const env = this.nice ? { ...process.env, PP_ISOLATED_NICE: String(this.nice) } : process.env;
    const child = fork(childEntry, [], { execArgv: childExecArgv(), env, serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.children++;
    let gone = false;
    const onGone = () => {
      if (gone) return;
      gone = true;
      this.children--;
      const at = this.idle.indexOf(child);
      if (at >= 0) this.idle.splice(at, 1);
      // Its place is free: a request waiting for one gets a new child.
      const next = this.waiting.shift();
      if (next) next(this.spawnChild());
    };
    child.once('exit', onGone);
    // A failed fork may emit 'error' without 'exit'.
    child.once('error', onGone);
    holdOpen(child, false);
    return child;
  }

  acquire(deadline: Deadline): Promise<ChildProcess> {
    const ready = this.idle.pop();
    if (ready) return Promise.resolve(ready);
    if (this.children < this.max) return Promise.resolve(this.spawnChild());
    return new Promise((resolve, reject) => {
      const take = (child: ChildProcess) => {
        cancel();
        resolve(child);
      };
      const cancel = deadline.onStop((reason) => {
        const at = this.waiting.indexOf(take);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(reason);
      });
      this.waiting.push(take);
    });
  }

  release(child: ChildProcess): void {
    const next = this.waiting.shift();
    if (next) return next(child);
    holdOpen(child, false);
    this.idle.push(child);
  }
}

/** AVIF encodes at once per process (worker): one, so two workers on two cores still leave room for everything else. */
const AVIF_AT_ONCE = 1;
/** Nice value of the AVIF children (0-19, higher yields more): 10 gives them about a tenth of a core under contention. */
const AVIF_NICE = 10;

const pools = { general: new Pool(availableParallelism(), 0), avif: new Pool(AVIF_AT_ONCE, AVIF_NICE) };

/** A child holds this process open only while it works for it: an idle one must not keep the CLI from exiting. */
function holdOpen(child: ChildProcess, hold: boolean): void {
  if (hold) {
    child.ref();
    child.channel?.ref();
  } else {
    child.unref();
    child.channel?.unref();
  }
}

/** Whether the job may write AVIF, asked for (type=avif) or negotiated (type=auto with an Accept listing image/avif). */
function writesAvif(job: IsolatedJob): { avif: boolean; negotiated: boolean } {
  const explicit = job.steps.some((step) => step.options.type === 'avif');
  const negotiated = job.steps.some((step) => step.options.type === 'auto') && Object.values(job.negotiated ?? {}).includes('avif');
  return { avif: explicit || negotiated, negotiated: negotiated && !explicit };
}

function toError(reply: Extract<IsolatedReply, { ok: false }>): Error {
  if (reply.code) return new ImageError(reply.code, reply.detail);
  const error = new Error(`Isolated image work failed: ${reply.detail}`);
  if (reply.stack) error.stack = reply.stack;
  return error;
}

/** Run `job` in a child; at the deadline or abort the child is killed and this rejects with PP_TIMEOUT or PP_CLIENT_GONE. */
export async function runIsolated(job: IsolatedJob, deadline: Deadline): Promise<RunResult> {
  deadline.check();
  const { avif, negotiated } = writesAvif(job);
  const pool = avif ? pools.avif : pools.general;
  const child = await pool.acquire(deadline);
  return new Promise<RunResult>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      cancel();
      child.off('message', onMessage);
      child.off('exit', onExit);
      outcome();
    };
    const onMessage = (reply: IsolatedReply) =>
      settle(() => {
        pool.release(child);
        if (reply.ok) resolve(reply.result);
        else reject(toError(reply));
      });
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      settle(() => reject(new Error(`The isolated image worker exited (${signal ?? `code ${code}`}) before answering`)));
    const cancel = deadline.onStop((reason) =>
      settle(() => {
        child.kill('SIGKILL');
        reject(reason);
      }),
    );
    child.on('message', onMessage);
    child.once('exit', onExit);
    holdOpen(child, true);
    const request: IsolatedRequest = {
      job,
      remainingMs: deadline.remainingMs(),
      concurrency: sharp.concurrency(),
      autoAvifMaxPixels: negotiated ? job.limits.maxAutoAvifPixels : undefined,
    };
    child.send(request, (error) => {
      if (error) settle(() => {
        child.kill('SIGKILL');
        reject(error);
      });
    });
  });
}
