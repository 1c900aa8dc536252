/**
 * Runs the built server (dist/, what `npm start` runs) as a child process, for tests over a real socket: signals,
 * workers, the disk, attacks. The build is refreshed first when a source file is newer than it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface ServerProcess {
  child: ChildProcess;
  base: string;
  /** Everything the process printed so far. */
  output(): string;
  exited: Promise<number | null>;
}

const root = new URL('../', import.meta.url).pathname;
const entry = join(root, 'dist/process/server.js');

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    newest = Math.max(newest, item.isDirectory() ? newestSourceMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function builtMs(): number {
  try {
    return statSync(entry).mtimeMs;
  } catch {
    return 0;
  }
}

let built: Promise<void> | undefined;

/** Compile src/ to dist/ once per test process when the build is missing or older than the sources. */
export function ensureBuilt(): Promise<void> {
  built ??= (async () => {
    if (builtMs() >= newestSourceMs(join(root, 'src'))) return;
    // tsc emits even when it reports type errors; those are the typecheck's business, so only a missing build fails.
    await promisify(execFile)(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.json')]).catch(() => undefined);
    if (builtMs() === 0) throw new Error('tsc produced no dist/process/server.js');
  })();
  return built;
}

/** A server that has not said it listens after this long is stuck (a worker starts in about 1 s here). */
const START_TIMEOUT_MS = 30_000;

export interface StartOptions {
  /** A command to run the server under, e.g. unshare; it must exec `node dist/process/server.js` appended to it. */
  prefix?: readonly string[];
  /** What starts the server instead of `node dist/process/server.js`, e.g. the CLI's `serve` with its flags. */
  command?: readonly string[];
}

export async function startServer(env: Record<string, string>, options: StartOptions = {}): Promise<ServerProcess> {
  await ensureBuilt();
  const [command, ...args] = [...(options.prefix ?? []), ...(options.command ?? [process.execPath, entry])] as [string, ...string[]];
  const child = spawn(command, args, {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${START_TIMEOUT_MS} ms: ${output}`));
    }, START_TIMEOUT_MS);
    const onOutput = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${output}`));
    });
  });
  return { child, base, output: () => output, exited };
}
