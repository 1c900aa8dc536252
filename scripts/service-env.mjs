// The process settings sharp needs, for scripts/start.mjs and for the bench's in-process floor, which must run under
// the same allocator as the server it is compared with. Plain JavaScript: start.mjs runs without a TypeScript loader.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export const jemallocPaths = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'];

/**
 * jemalloc serves blocks over `oversize_threshold` (8 MiB by default) from its "huge" arena, which gives them back to
 * the kernel the moment they are freed: each request's 12 MB image buffer of a 4 MP photo was paged in anew, about
 * 60 ms of CPU on this VM. Up to 16 MiB (a 5 MP RGB image) blocks now stay in the ordinary arenas, whose freed pages
 * the next request reuses and the background thread gives back after 10 s unused; larger ones (a 17.9 MP photo's
 * decode) still go back at once, so the peak of big uploads does not grow. W1 (4 MP blur) 130 -> 71 ms CPU a request,
 * the burst peak of 16 x 17.9 MP uploads 661 -> 637 MB (one worker; docs/benchmarks.md, "Page faults and the
 * allocator"). An explicit MALLOC_CONF, even empty, wins.
 */
export const jemallocConf = 'oversize_threshold:16777216,background_thread:true';

/** `base` with jemalloc preloaded when installed, its settings or glibc's, and a libuv pool sized for the machine. */
export function serviceEnv(base = process.env) {
  const env = { ...base };
  const jemalloc = jemallocPaths.find((path) => existsSync(path));
  if (jemalloc && !env.LD_PRELOAD) env.LD_PRELOAD = jemalloc;
  if (env.LD_PRELOAD?.includes('jemalloc')) {
    env.MALLOC_CONF ??= jemallocConf;
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
