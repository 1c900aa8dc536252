/**
 * Peak RSS of the built service under Nextcloud's preview load, with each malloc: glibc's default, glibc with
 * MALLOC_ARENA_MAX=2, and jemalloc (Debian's libjemalloc2, unpacked into a scratch folder with `apt-get download`
 * and preloaded from there, so the machine is left as it was). Same photo, same requests, same start for each;
 * the variants take turns, ROUNDS times, so load from other work on the machine falls on all of them alike.
 *
 *   node --import tsx scripts/allocator-rss.ts [photo.jpg]      (default: Debian mate-backgrounds' 17.9 MP photo)
 * Env: RSS_REQUESTS (per run, default 96), RSS_CONNECTIONS (default 8), ROUNDS (default 2), PP_WORKERS (default 2);
 * other PP_* settings are passed to the service.
 * docs/deploy.md quotes its output.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { freePort, launch, RssSampler, stop, treeRssMb, waitIdle, waitReady } from '../bench/procs.js';
import { httpLoad } from '../bench/load.js';
import { ensureBuilt } from '../testkit/server-process.js';
import { jemallocConf } from './service-env.mjs';

const photoPath = process.argv[2] ?? '/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg';
const requests = Number(process.env.RSS_REQUESTS ?? 96);
const connections = Number(process.env.RSS_CONNECTIONS ?? 8);
const rounds = Number(process.env.ROUNDS ?? 2);
const workers = process.env.PP_WORKERS ?? '2';
const root = new URL('..', import.meta.url).pathname;
const serviceEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('PP_') && name !== 'PP_WORKERS' && name !== 'PP_RSS_VARIANTS')) as Record<string, string>;

/** Nextcloud's preview generator request (lib/private/Preview/Imaginary.php): autorotate, then a 256 fit as JPEG. */
const operations = JSON.stringify([
  { operation: 'autorotate' },
  { operation: 'fit', params: { width: 256, height: 256, stripmeta: 'true', type: 'jpeg', norotation: 'true', quality: '80' } },
]);

function jemallocPath(scratch: string): string | undefined {
  try {
    execFileSync('apt-get', ['download', 'libjemalloc2'], { cwd: scratch, stdio: 'ignore' });
    const deb = readdirSync(scratch).find((file) => file.endsWith('.deb'));
    if (!deb) return undefined;
    execFileSync('dpkg', ['-x', join(scratch, deb), join(scratch, 'root')]);
    const lib = execFileSync('find', [join(scratch, 'root'), '-name', 'libjemalloc.so.2'], { encoding: 'utf8' }).trim().split('\n')[0];
    return lib || undefined;
  } catch {
    return undefined;
  }
}

interface Result {
  variant: string;
  peakMb: number;
  afterMb: number;
  idleMb: number;
  reqPerSec: number;
  errors: number;
}

async function measure(variant: string, env: Record<string, string>, photo: Buffer): Promise<Result> {
  const port = await freePort();
  const child = launch(`rss-${variant.replace(/\W+/g, '-')}`, process.execPath, [join(root, 'dist/process/server.js')], {
    // The service's own settings (PP_CONCURRENCY, PP_SHARP_CONCURRENCY...) pass through, to measure a given sizing.
    env: { PATH: process.env.PATH ?? '', ...serviceEnv, PORT: String(port), PP_WORKERS: workers, UV_THREADPOOL_SIZE: '4', LOG_LEVEL: 'warn', ...env },
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitReady(child, variant, `${base}/health`);
    // Workers listen one after the other: wait until the tree stops starting up.
    await waitIdle(child.pid!);
    const idleMb = treeRssMb(child.pid!);
    const sampler = new RssSampler(child.pid!);
    const load = await httpLoad(base, [{ path: `/pipeline?operations=${encodeURIComponent(operations)}`, headers: { 'Content-Type': 'image/jpeg' }, body: photo }], connections, { amount: requests });
    const peakMb = sampler.peakMb;
    await waitIdle(child.pid!);
    return { variant, peakMb: Math.round(peakMb), afterMb: Math.round(treeRssMb(child.pid!)), idleMb: Math.round(idleMb), reqPerSec: Number(load.reqPerSec.toFixed(2)), errors: load.errors };
  } finally {
    await stop(child);
  }
}

await ensureBuilt();
const photo = readFileSync(photoPath);
const meta = await sharp(photo).metadata();
const scratch = mkdtempSync(join(tmpdir(), 'pixelpress-jemalloc-'));
const jemalloc = jemallocPath(scratch);
/** glibc's dynamic mmap threshold climbs to 32 MB after the first large free, so later pixel buffers come from the
 *  arenas and fragment them; a fixed threshold keeps them in mmap, returned to the system when freed. */
const fixedMmap = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' };
const allVariants: [string, Record<string, string>][] = [
  ['glibc default', {}],
  ['glibc MALLOC_ARENA_MAX=2', { MALLOC_ARENA_MAX: '2' }],
  ['glibc arena 2 + fixed mmap/trim threshold 128 KiB', fixedMmap],
  ['glibc arena 2 + fixed thresholds + PP_SHARP_CONCURRENCY=1', { ...fixedMmap, PP_SHARP_CONCURRENCY: '1' }],
  ...(jemalloc
    ? ([
        ['jemalloc (LD_PRELOAD), its defaults', { LD_PRELOAD: jemalloc }],
        // What npm start and the image run (scripts/service-env.mjs).
        [`jemalloc with MALLOC_CONF=${jemallocConf}`, { LD_PRELOAD: jemalloc, MALLOC_CONF: jemallocConf }],
      ] as [string, Record<string, string>][])
    : []),
];
// RSS_VARIANTS=1,3: a subset by position (1-based), to explore; the documented run uses all.
const chosen = process.env.RSS_VARIANTS?.split(',').map(Number);
const variants = chosen ? allVariants.filter((_, index) => chosen.includes(index + 1)) : allVariants;
console.error(`photo ${photoPath}: ${meta.width}x${meta.height} (${((meta.width! * meta.height!) / 1e6).toFixed(1)} MP), ${(photo.length / 1e6).toFixed(1)} MB`);
console.error(`${requests} requests at ${connections} connections, PP_WORKERS=${workers} ${Object.entries(serviceEnv).map(([k, v]) => `${k}=${v}`).join(' ')}, ${rounds} rounds; jemalloc ${jemalloc ?? 'not available'}`);
const results: Result[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    for (const [variant, env] of variants) {
      const result = await measure(variant, env, photo);
      console.error(`round ${round}: ${JSON.stringify(result)}`);
      results.push(result);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
const rows = variants.map(([variant]) => {
  const runs = results.filter((result) => result.variant === variant);
  return `| ${variant} | ${runs.map((run) => run.peakMb).join(', ')} | ${Math.max(...runs.map((run) => run.peakMb))} | ${runs.map((run) => run.afterMb).join(', ')} | ${runs.map((run) => run.idleMb).join(', ')} | ${runs.map((run) => run.reqPerSec).join(', ')} | ${runs.reduce((sum, run) => sum + run.errors, 0)} |`;
});
console.log(['| Allocator | Peak RSS per run (MB) | Worst peak (MB) | RSS after the run, idle (MB) | RSS at start (MB) | req/s | Errors |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |', ...rows].join('\n'));
