#!/usr/bin/env node
// Starts the built server with the process settings sharp needs: jemalloc when installed (glibc's allocator
// fragments under sharp's many threads and RSS creeps) and a libuv pool sized for the machine.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const jemalloc = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'].find((path) => existsSync(path));
const env = { ...process.env };
if (jemalloc && !env.LD_PRELOAD) env.LD_PRELOAD = jemalloc;
env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));

const child = spawn(process.execPath, [new URL('../dist/http/server.js', import.meta.url).pathname], { env, stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
