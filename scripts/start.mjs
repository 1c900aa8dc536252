#!/usr/bin/env node
// Starts the built server with the process settings sharp needs (service-env.mjs): jemalloc when installed (glibc's
// allocator fragments under sharp's many threads and RSS creeps) and a libuv pool sized for the machine.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceEnv } from './service-env.mjs';

// dist/ is compiled at install (npm's prepare, which needs no dev dependency), so a production start compiles nothing.
// After editing src/ in a checkout, the build is refreshed here rather than run stale.
const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist/process/server.js');
const newest = (dir) => Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((item) => (item.isDirectory() ? newest(join(dir, item.name)) : statSync(join(dir, item.name)).mtimeMs)));
if (!existsSync(entry) || (existsSync(join(root, 'src')) && newest(join(root, 'src')) > statSync(entry).mtimeMs)) {
  console.error('start: src/ is newer than dist/: building');
  const built = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--noCheck', '--types', ''], { stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

const env = serviceEnv();

const child = spawn(process.execPath, [entry], { env, stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
