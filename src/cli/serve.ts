/**
 * `pixelpress serve`: the service, with a flag for every environment variable it reads (`--port 9000` is PORT,
 * `--max-upload-bytes` is PP_MAX_UPLOAD_BYTES). It starts through scripts/start.mjs, as `npm start` does, so the
 * allocator settings (jemalloc or glibc's tunables) are in place before the process that does the image work starts.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { configEnvNames } from '../process/config.js';

/** PP_MAX_UPLOAD_BYTES → max-upload-bytes, PORT → port. */
export const flagFor = (envName: string): string => envName.replace(/^PP_/, '').toLowerCase().replaceAll('_', '-');

export function serveUsage(): string {
  const flags = configEnvNames().map((name) => `  --${flagFor(name).padEnd(28)} ${name}`);
  return `Usage: pixelpress serve [--flag value ...]

Starts the HTTP service (as npm start does). Each flag sets the environment variable beside it; a flag wins over the
variable already set. What each one means and its default: the README's "Limits and configuration" and
"Access control" tables.

${flags.join('\n')}`;
}

/** The environment the service starts with: this process's, with the flags written over it. */
export function serveEnvironment(args: string[], env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const names = configEnvNames();
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: Object.fromEntries(names.map((name) => [flagFor(name), { type: 'string' as const }])),
  });
  const result = { ...env };
  for (const name of names) {
    const value = (values as Record<string, string | undefined>)[flagFor(name)];
    if (value !== undefined) result[name] = value;
  }
  return result;
}

/** Runs the service in a child process until it exits; resolves with its exit code. */
export async function serve(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${serveUsage()}\n`);
    return 0;
  }
  const env = serveEnvironment(args, process.env);
  const start = fileURLToPath(new URL('../../scripts/start.mjs', import.meta.url));
  const child = spawn(process.execPath, [start], { env, stdio: 'inherit' });
  // The service drains on SIGTERM/SIGINT: pass them on and wait for it, rather than dying first.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}
