#!/usr/bin/env node
// Starts the built server with the process settings sharp needs: jemalloc when installed (glibc's allocator
// fragments under sharp's many threads and RSS creeps) and a libuv pool sized for the machine.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

const jemalloc = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'].find((path) => existsSync(path));
const env = { ...process.env };
if (jemalloc && !env.LD_PRELOAD) env.LD_PRELOAD = jemalloc;
// jemalloc serves blocks over 8 MiB (every buffer of a 4 MP image) from its "huge" arena, which gives them back to the
// kernel the moment they are freed: each request's 12 MB buffers were paged in anew, about 60 ms of CPU each on this
// VM. In the ordinary arenas freed pages are reused, and the background thread still gives them back after 10 s unused.
// W1 (4 MP blur) 132-149 -> 67-77 ms CPU a request; the burst peak of 16 x 17.9 MP uploads rises 8-30%
// (docs/benchmarks.md, "Page faults and the allocator"). An explicit MALLOC_CONF, even empty, wins.
if (env.LD_PRELOAD?.includes('jemalloc')) env.MALLOC_CONF ??= 'oversize_threshold:0,background_thread:true';
// Without jemalloc, glibc kept within a few arenas that hand memory back: a 17.9 MP Nextcloud preview load peaked at
// 492 MB RSS (268 MB after) against 733 (553) with glibc's defaults, one worker; docs/deploy.md has the runs.
if (!env.LD_PRELOAD?.includes('jemalloc')) {
  env.MALLOC_ARENA_MAX ??= '2';
  env.MALLOC_MMAP_THRESHOLD_ ??= '131072';
  env.MALLOC_TRIM_THRESHOLD_ ??= '131072';
}
env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));

const child = spawn(process.execPath, [entry], { env, stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
