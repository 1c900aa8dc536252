// The process settings sharp needs, for scripts/start.mjs and for the bench's in-process floor, which must run under
// the same allocator as the server it is compared with. Plain JavaScript: start.mjs runs without a TypeScript loader.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export const jemallocPaths = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'];

/** `base` with jemalloc preloaded when installed, its settings or glibc's, and a libuv pool sized for the machine. */
export function serviceEnv(base = process.env) {
  const env = { ...base };
  const jemalloc = jemallocPaths.find((path) => existsSync(path));
  if (jemalloc && !env.LD_PRELOAD) env.LD_PRELOAD = jemalloc;
  if (env.LD_PRELOAD?.includes('jemalloc')) {
    // jemalloc serves blocks over 8 MiB (every buffer of a 4 MP image) from its "huge" arena, which gives them back to
    // the kernel the moment they are freed: each request's 12 MB buffers were paged in anew, about 60 ms of CPU each on
    // this VM. In the ordinary arenas freed pages are reused, and the background thread still gives them back after
    // 10 s unused. W1 (4 MP blur) 132-149 -> 67-77 ms CPU a request; the burst peak of 16 x 17.9 MP uploads rises
    // 8-30% (docs/benchmarks.md, "Page faults and the allocator"). An explicit MALLOC_CONF, even empty, wins.
    env.MALLOC_CONF ??= 'oversize_threshold:0,background_thread:true';
  } else {
    // Without jemalloc, glibc kept within a few arenas that hand memory back: a 17.9 MP Nextcloud preview load peaked at
    // 492 MB RSS (268 MB after) against 733 (553) with glibc's defaults, one worker; docs/deploy.md has the runs.
    env.MALLOC_ARENA_MAX ??= '2';
    env.MALLOC_MMAP_THRESHOLD_ ??= '131072';
    env.MALLOC_TRIM_THRESHOLD_ ??= '131072';
  }
  env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));
  return env;
}
