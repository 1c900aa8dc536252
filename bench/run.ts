/**
 * npm run bench: builds pixelpress, draws the inputs, starts every server itself (pixelpress, the FastAPI
 * original, the in-process floor), loads each at fixed concurrency after a warm-up, and writes
 * bench/results/latest.{md,json,svg}. Progress goes to stderr so stdout is only the Markdown report.
 * Sized to finish in under 5 minutes on a 2-core machine; BENCH_* variables (see bench config below) trade time for precision.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import type { Source } from '../src/core/params.js';
import type { Step } from '../src/core/pipeline.js';
import type { FloorJob } from './floor.js';
import { fixture, type Fixture } from './fixtures.js';
import { ensurePhotos, photoPackage, photos, type Photos } from './photos.js';
import { httpLoad, multipartRequest, rawRequest, type HttpRequest, type Measure, type RunLength } from './load.js';
import { foreignLoad, freePort, killAll, launch, processTree, RssSampler, startPixelpress, stop, treeCpuMs, treeRssMb, waitIdle, waitReady, type Started } from './procs.js';
import { computeTargets, markdown, servers, svgChart, type MemoryResult, type Report, type Row } from './report.js';
import { jemallocPaths, serviceEnv } from '../scripts/service-env.mjs';

const started = performance.now();
const root = new URL('..', import.meta.url).pathname;
const resultsDir = new URL('./results/', import.meta.url).pathname;
const log = (message: string) => console.error(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${message}`);

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`Expected a positive number for ${name} but received ${JSON.stringify(raw)}`);
  return value;
}

const config = {
  /** Seconds of each measured run of the fast workloads, and of their warm-up. */
  duration: envNumber('BENCH_DURATION', 7),
  warmup: envNumber('BENCH_WARMUP', 2),
  connections: Math.round(envNumber('BENCH_CONNECTIONS', 8)),
  /**
   * AVIF encodes take over a CPU-second each (4 MP at the default speed 8): a request count instead of a time, or
   * in-flight work would spill into the next run. 8 requests run 8 at once.
   */
  avifRequests: Math.round(envNumber('BENCH_AVIF_REQUESTS', 8)),
  /** The 17.9 MP photo costs the W3 pipeline about a CPU-second, so the mix holds one in 40 and 1500 requests fit the budget. */
  memoryRequests: Math.round(envNumber('BENCH_W5_REQUESTS', 1500)),
  memoryWarmupRequests: Math.round(envNumber('BENCH_W5_WARMUP_REQUESTS', 300)),
  burstConnections: Math.round(envNumber('BENCH_W5_BURST', 16)),
  /** The optional "fastapi (2 workers)" row runs last, and only if it still fits in this many seconds overall. */
  budget: envNumber('BENCH_BUDGET', 285),
  fastapiTwoWorkers: process.env.BENCH_FASTAPI_2W !== '0',
  /**
   * MALLOC_CONF for an extra pixelpress row on W1 and W2, to compare jemalloc settings against the one scripts/start.mjs
   * sets (e.g. 'dirty_decay_ms:-1,muzzy_decay_ms:-1'); unset or empty: no extra row.
   */
  tunedMallocConf: process.env.BENCH_TUNED_MALLOC_CONF ?? '',
};

let jemalloc = jemallocPaths.find((path) => existsSync(path));
const python = '/usr/bin/python3'; // Debian's, where the python3-* packages install; not pyenv's python3 on PATH.

/** Output of a command, or null when it fails; the command's own chatter goes to stderr. */
function capture(command: string, args: string[]): string | null {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return result.status === 0 ? result.stdout.trim() : null;
}

function runVisible(command: string, args: string[]): boolean {
  return spawnSync(command, args, { cwd: root, stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
}

const pythonVersions = () =>
  capture(python, ['-c', 'import sys, fastapi, uvicorn, PIL, multipart; print(f"Python {sys.version.split()[0]}, FastAPI {fastapi.__version__}, uvicorn {uvicorn.__version__}, Pillow {PIL.__version__}, python-multipart {multipart.__version__}")']);

/** The FastAPI baseline's Debian packages: installed if missing, `apt-get update` only if the first try fails. */
function ensureFastapi(): string | null {
  const found = pythonVersions();
  if (found) return found;
  const packages = ['python3-fastapi', 'python3-uvicorn', 'python3-pil', 'python3-multipart'];
  log(`installing ${packages.join(' ')} for the FastAPI baseline`);
  if (!runVisible('apt-get', ['install', '-y', ...packages])) {
    runVisible('apt-get', ['update']);
    runVisible('apt-get', ['install', '-y', ...packages]);
  }
  return pythonVersions();
}

/**
 * The service's production allocator (scripts/start.mjs preloads it when installed): without it every figure measures
 * glibc's malloc instead, so a fresh machine gets Debian's libjemalloc2 as the photographs' package is got.
 */
function ensureJemalloc(): void {
  if (jemalloc) return;
  log('installing Debian\'s libjemalloc2, the allocator scripts/start.mjs preloads');
  if (!runVisible('apt-get', ['install', '-y', 'libjemalloc2'])) {
    runVisible('apt-get', ['update']);
    runVisible('apt-get', ['install', '-y', 'libjemalloc2']);
  }
  jemalloc = jemallocPaths.find((path) => existsSync(path));
}

interface Workload {
  id: string;
  title: string;
  request: HttpRequest;
  /** The same work for the floor, as run() takes it; absent where the floor is not asked for. */
  floor?: { steps: Step[]; source: Source; file: string };
  warmup: RunLength;
  measure: RunLength;
  /** Whether the FastAPI original serves it (it has only POST /). */
  fastapi: boolean;
  /**
   * FastAPI's run length where it differs. Its one event loop moves all 8 requests forward together, so answers come
   * in batches seconds apart: a 7 s window counts one or two batches and req/s swings by half. A request count
   * measures it whole (docs/benchmarks.md).
   */
  fastapiRun?: { warmup: RunLength; measure: RunLength };
}

function workloads(p: Photos, drawn: Fixture, kind: 'photo' | 'drawn'): Workload[] {
  const timed = { warmup: { seconds: config.warmup }, measure: { seconds: config.duration } };
  const blur: Step[] = [{ operation: 'pillowblur' }];
  const thumbnail: Step[] = [
    { operation: 'autorotate' },
    { operation: 'fit', params: { width: 256, height: 256, stripmeta: 'true', type: 'jpeg', norotation: 'true', quality: '80' } },
  ];
  const pipelinePath = `/pipeline?operations=${encodeURIComponent(JSON.stringify(thumbnail))}`;
  const mp = (f: Fixture) => `${((f.width * f.height) / 1e6).toFixed(1)} MP`;
  const batches = { fastapiRun: { warmup: { amount: config.connections }, measure: { amount: 2 * config.connections } } };
  return [
    // The HTTP layer validates POST / as prepare([{ operation: 'pillowblur' }]) with JSON coercions; the floor does the same.
    { id: 'W1', title: `POST / blur, ${p.w1.width}x${p.w1.height} ${kind} JPEG`, request: multipartRequest('/', p.w1), floor: { steps: blur, source: 'json', file: p.w1.file }, fastapi: true, ...timed, ...batches },
    // The drawn image the bench used before, kept to show what a drawn input does to each server (docs/benchmarks.md).
    { id: 'W1d', title: `POST / blur, ${drawn.width}x${drawn.height} drawn JPEG`, request: multipartRequest('/', drawn), fastapi: true, ...timed, ...batches },
    { id: 'W2', title: `POST / blur, ${p.w2.width}x${p.w2.height} ${kind} PNG`, request: multipartRequest('/', p.w2), floor: { steps: blur, source: 'json', file: p.w2.file }, fastapi: true, ...timed },
    { id: 'W3', title: `/pipeline autorotate+fit 256 (Nextcloud), ${mp(p.w3)} ${kind} JPEG`, request: rawRequest(pipelinePath, p.w3), floor: { steps: thumbnail, source: 'json', file: p.w3.file }, fastapi: false,
      // About a CPU-second each for this 16 MB progressive JPEG: counted requests, or a 7 s window under load may see none.
      warmup: { amount: 2 }, measure: { amount: config.connections } },
    // /convert and /resize read their params from the query string, so the floor uses the query coercions too.
    { id: 'W4', title: `/convert webp, ${mp(p.w4)} ${kind} JPEG`, request: rawRequest('/convert?type=webp', p.w4), floor: { steps: [{ operation: 'convert', params: { type: 'webp' } }], source: 'query', file: p.w4.file }, fastapi: false, ...timed },
    {
      id: 'W4', title: `/convert avif, ${mp(p.w4)} ${kind} JPEG`, request: rawRequest('/convert?type=avif', p.w4), floor: { steps: [{ operation: 'convert', params: { type: 'avif' } }], source: 'query', file: p.w4.file }, fastapi: false,
      // One request warms the encoder up.
      warmup: { amount: 1 }, measure: { amount: config.avifRequests },
    },
    { id: 'W6', title: `/resize?width=800, ${mp(p.w4)} ${kind} JPEG`, request: rawRequest('/resize?width=800', p.w4), floor: { steps: [{ operation: 'resize', params: { width: '800' } }], source: 'query', file: p.w4.file }, fastapi: false, ...timed },
  ];
}

function row(workload: Workload, server: string, measure: Measure, peakRssMb: number, otherLoad: number): Row {
  const connections = 'amount' in workload.measure ? Math.min(config.connections, workload.measure.amount) : config.connections;
  const cpuMsPerRequest = measure.cpuMs !== undefined && measure.requests > 0 ? measure.cpuMs / measure.requests : null;
  const result: Row = { workload: workload.id, title: workload.title, server, connections, peakRssMb, otherLoad, cpuMsPerRequest, ...measure };
  log(
    `${workload.id} ${workload.title} | ${server}: ${result.reqPerSec.toFixed(2)} req/s, p50 ${result.p50Ms.toFixed(0)} ms, ` +
      `p99 ${result.p99Ms.toFixed(0)} ms, CPU ${cpuMsPerRequest?.toFixed(1) ?? '?'} ms/req, ${result.errors} errors${result.errorDetail ? ` (${result.errorDetail})` : ''}, peak RSS ${peakRssMb.toFixed(0)} MB, other load ${otherLoad.toFixed(2)} cores`,
  );
  return result;
}

/** The floor child answers each job over IPC with its Measure. */
function ask(child: ChildProcess, job: FloorJob): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const onExit = () => reject(new Error('the floor process exited; see bench/.logs/floor.log'));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message as Measure);
    });
    child.send(job);
  });
}

async function runFloor(list: Workload[]): Promise<Row[]> {
  // The allocator and libuv pool scripts/start.mjs gives the server: the gap between floor and service is the HTTP layer.
  const env = serviceEnv();
  const child = launch('floor', process.execPath, ['--import', 'tsx', 'bench/floor.ts'], { cwd: root, env, ipc: true });
  const rows: Row[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', () => reject(new Error('the floor process exited during start-up; see bench/.logs/floor.log')));
    });
    const sampler = new RssSampler(child.pid!);
    for (const workload of list) {
      if (!workload.floor) continue;
      // Peak RSS here spans warm-up and run: both happen inside the child in one job.
      sampler.reset();
      const otherLoad = foreignLoad();
      const measure = await ask(child, { ...workload.floor, connections: config.connections, warmup: workload.warmup, measure: workload.measure });
      rows.push(row(workload, servers.floor, measure, sampler.peakMb, otherLoad()));
    }
    sampler.close();
  } finally {
    await stop(child);
  }
  return rows;
}

/** Start a server; once more if it dies during start-up (a shared machine can disturb one start). */
async function startWithRetry(name: string, start: () => Promise<Started>): Promise<Started> {
  try {
    return await start();
  } catch (err) {
    log(`${name}: ${(err as Error).message}; trying once more`);
    return start();
  }
}

async function startFastapi(name: string, workers: number): Promise<Started> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  const args = ['-m', 'uvicorn', 'fastapi_blur:app', '--host', '127.0.0.1', '--port', String(port), '--workers', String(workers), '--no-access-log'];
  const child = launch(name, python, args, { cwd: new URL('./baselines/', import.meta.url).pathname, env });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, name, `${url}/openapi.json`);
  return { child, url };
}

/** Warm up, let the server go idle, then measure with RSS sampling. */
async function runHttp(server: Started, serverName: string, list: Workload[], after?: (server: Started) => Promise<Row[]>): Promise<Row[]> {
  const pid = server.child.pid!;
  const sampler = new RssSampler(pid);
  const rows: Row[] = [];
  try {
    for (const workload of list) {
      await waitIdle(pid);
      await httpLoad(server.url, [workload.request], config.connections, workload.warmup);
      await waitIdle(pid);
      sampler.reset();
      const otherLoad = foreignLoad();
      const cpu = treeCpuMs(pid);
      const measure = await httpLoad(server.url, [workload.request], config.connections, workload.measure);
      // Read as the run ends: requests cut off by a timed run's end are neither counted nor (mostly) paid for,
      // as the ones in flight when it began were paid for in the warm-up.
      measure.cpuMs = cpu();
      rows.push(row(workload, serverName, measure, sampler.peakMb, otherLoad()));
    }
    if (after) rows.push(...(await after(server)));
  } finally {
    sampler.close();
    await stop(server.child);
  }
  return rows;
}

/**
 * W7: W2 while `config.connections` AVIF encodes are in flight the whole time, against W2's p99 on an idle server.
 * AVIF has its own concurrency limit and runs niced, so small images must keep their latency (issue #11).
 */
async function runAvifContention(server: Started, small: HttpRequest, avif: HttpRequest): Promise<Row[]> {
  const pid = server.child.pid!;
  await waitIdle(pid);
  const seconds = config.duration;
  // The AVIF clients start first and run a second longer than the measured W2 run, so it never sees an idle server.
  const background = httpLoad(server.url, [avif], config.connections, { seconds: seconds + 2 });
  await sleep(1000);
  const otherLoad = foreignLoad();
  const sampler = new RssSampler(pid);
  const measure = await httpLoad(server.url, [small], config.connections, { seconds });
  const peak = sampler.peakMb;
  sampler.close();
  const avifMeasure = await background;
  const workload: Workload = { id: 'W7', title: `W2 while ${config.connections} AVIF /convert requests run`, request: small, fastapi: false, warmup: { seconds: 0 }, measure: { seconds } };
  const avifRow: Workload = { id: 'W7', title: `the ${config.connections} AVIF /convert clients of W7`, request: avif, fastapi: false, warmup: { seconds: 0 }, measure: { seconds: seconds + 2 } };
  const rows = [row(workload, servers.pixelpress, measure, peak, otherLoad()), row(avifRow, servers.pixelpress, avifMeasure, peak, 0)];
  await waitIdle(pid);
  return rows;
}

/**
 * W5 on a fresh pixelpress: a mixed warm-up, RSS; the mixed run, RSS; then bursts of 20 MP uploads for the peak.
 * The burst comes last so the memory it leaves behind cannot hide creep in the mixed phase.
 */
async function runMemory(mix: HttpRequest[], burst: HttpRequest, mixTitle: string, burstTitle: string): Promise<MemoryResult> {
  const server = await startWithRetry('pixelpress-w5', () => startPixelpress('pixelpress-w5'));
  const pid = server.child.pid!;
  const overall = new RssSampler(pid);
  try {
    await httpLoad(server.url, mix, config.connections, { amount: config.memoryWarmupRequests });
    await waitIdle(pid);
    const rssAfterWarmupMb = treeRssMb(pid);
    log(`W5 RSS after ${config.memoryWarmupRequests} warm-up requests: ${rssAfterWarmupMb.toFixed(0)} MB`);
    const mixed = await httpLoad(server.url, mix, config.connections, { amount: config.memoryRequests });
    await waitIdle(pid);
    const rssAfterMb = treeRssMb(pid);
    log(`W5 ${mixed.requests} mixed requests (${mixed.errors} errors), ${mixed.reqPerSec.toFixed(1)} req/s; RSS after: ${rssAfterMb.toFixed(0)} MB`);
    const phase = new RssSampler(pid);
    // `burstConnections` uploads at once, each connection sending its next as soon as one is answered: the peak.
    const burstResult = await httpLoad(server.url, [burst], config.burstConnections, { amount: config.burstConnections });
    const burstPeak = phase.peakMb;
    phase.close();
    log(`W5 burst: ${burstResult.requests} x W3 photo (${burstResult.errors} errors${burstResult.errorDetail ? `: ${burstResult.errorDetail}` : ''}), peak RSS ${burstPeak.toFixed(0)} MB`);
    return {
      server: servers.pixelpress,
      burst: { title: burstTitle, connections: config.burstConnections, requests: burstResult.requests, errors: burstResult.errors, errorDetail: burstResult.errorDetail, peakRssMb: burstPeak },
      mixed: { title: mixTitle, connections: config.connections, requests: mixed.requests, errors: mixed.errors, errorDetail: mixed.errorDetail, reqPerSec: mixed.reqPerSec, rssAfterWarmupMb, rssAfterMb },
      peakRssMb: overall.peakMb,
    };
  } finally {
    overall.close();
    await stop(server.child);
  }
}

async function main(): Promise<void> {
  log('npm run build');
  if (!runVisible('npm', ['run', 'build'])) throw new Error('npm run build failed');

  const notes: string[] = [];
  log('inputs: photographs from Debian\'s mate-backgrounds, and the drawn W1 (drawn once, then cached in bench/.fixtures/)');
  const photosMissing = ensurePhotos(log);
  let inputs: Photos;
  if (photosMissing) {
    // Still a complete run, but on drawn images: every figure is flattered or distorted, and the report says so first.
    const [w1, w2, w3, w4] = await Promise.all([fixture('w1'), fixture('w2'), fixture('w3'), fixture('w4')]);
    inputs = { w1, w2, w3, w4 };
    notes.push(`NO PHOTOGRAPHS: ${photosMissing}, so every workload ran on the drawn fixtures instead; these figures are not comparable with the README's.`);
    log(`WARNING: ${photosMissing}; falling back to drawn fixtures`);
  } else {
    inputs = await photos();
  }
  const drawnW1 = await fixture('w1');
  const list = workloads(inputs, drawnW1, photosMissing ? 'drawn' : 'photo');
  const byId = (id: string, titleWord = '') => list.find((workload) => workload.id === id && workload.title.includes(titleWord))!.request;
  const { w2, w3 } = inputs;

  const fastapiVersions = ensureFastapi();
  ensureJemalloc();
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const machine: Record<string, string> = {
    CPU: cpu,
    Cores: String(availableParallelism()),
    Memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    Kernel: release(),
    Node: process.version,
    'sharp / libvips': `sharp ${sharp.versions.sharp ?? '?'}, libvips ${sharp.versions.vips} (mozjpeg ${sharp.versions.mozjpeg ?? '?'}, libwebp ${sharp.versions.webp ?? '?'}, aom ${sharp.versions.aom ?? '?'})`,
    jemalloc: jemalloc ? `${jemalloc} (LD_PRELOADed by scripts/start.mjs and for the floor)` : 'not installed (glibc malloc)',
    Photographs: photosMissing ? `not available (${photosMissing})` : `Debian ${photoPackage} ${capture('dpkg-query', ['-W', '-f', '${Version}', photoPackage]) ?? '?'} (GPL-2+), files under /usr/share/backgrounds/mate/`,
    'FastAPI baseline': fastapiVersions ? `${fastapiVersions} (Debian packages; uvicorn on h11, no uvloop/httptools)` : 'not available',
  };
  const rows: Row[] = [];

  const otherLoad = foreignLoad();

  log('floor: run() in-process');
  rows.push(...(await runFloor(list)));

  log('pixelpress: node scripts/start.mjs');
  const pixelpress = await startWithRetry('pixelpress', () => startPixelpress('pixelpress'));
  // The service decides its own process layout (PP_WORKERS etc.); record what it was.
  const pixelpressProcesses = processTree(pixelpress.child.pid!).length;
  rows.push(...(await runHttp(pixelpress, servers.pixelpress, list, (server) => runAvifContention(server, byId('W2'), byId('W4', 'avif')))));

  if (config.tunedMallocConf) {
    log(`pixelpress with MALLOC_CONF=${config.tunedMallocConf}`);
    const tuned = await startWithRetry('pixelpress-tuned', () => startPixelpress('pixelpress-tuned', { MALLOC_CONF: config.tunedMallocConf }));
    rows.push(...(await runHttp(tuned, servers.tuned, list.filter((workload) => workload.id === 'W1' || workload.id === 'W2'))));
  }

  const blurOnly = list.filter((workload) => workload.fastapi);
  const fastapiList = blurOnly.map((workload) => ({ ...workload, ...workload.fastapiRun }));
  if (fastapiVersions) {
    log('fastapi: uvicorn, 1 worker');
    rows.push(...(await runHttp(await startWithRetry('fastapi-1w', () => startFastapi('fastapi-1w', 1)), servers.fastapi1, fastapiList)));
  } else {
    notes.push(`FastAPI baseline skipped: ${python} could not import fastapi, uvicorn, PIL and multipart (apt-get install failed?).`);
  }

  // W5 mix, 20 requests a cycle on every connection: small blurs, resizes and webp of the W2 image, and big
  // uploads (the W3 photo to /info, header only, and once to the W3 pipeline), so buffers of every size are
  // allocated and freed while the whole run stays short enough for the 5-minute budget.
  const blurSmall = byId('W2'), thumbnail20mp = byId('W3');
  const resize = rawRequest('/resize?width=200', w2), webp = rawRequest('/convert?type=webp', w2), info = rawRequest('/info', w3);
  const half = [blurSmall, resize, blurSmall, info, blurSmall, webp, blurSmall, resize, blurSmall];
  const cycle: HttpRequest[] = [...half, thumbnail20mp, ...half, info, ...half, info, ...half, info];
  const mixTitle = `${config.memoryRequests} mixed requests (per 40: 20 W2 blur, 8 W2 /resize, 4 W2 /convert webp, 7 W3-image /info, 1 W3 pipeline)`;
  const burstTitle = `${config.burstConnections} concurrent uploads of the W3 ${((w3.width * w3.height) / 1e6).toFixed(1)} MP JPEG (${(w3.data.length / 2 ** 20).toFixed(1)} MB) to the W3 pipeline`;
  log('W5 memory: fresh pixelpress');
  const memory = await runMemory(cycle, thumbnail20mp, mixTitle, burstTitle);

  // Optional: uvicorn with one worker per core, if the 5-minute budget still has room for it.
  const oneRound = (config.warmup + config.duration + 3) * blurOnly.length;
  if (fastapiVersions && config.fastapiTwoWorkers) {
    if ((performance.now() - started) / 1000 + oneRound <= config.budget) {
      log('fastapi: uvicorn, 2 workers');
      rows.push(...(await runHttp(await startWithRetry('fastapi-2w', () => startFastapi('fastapi-2w', 2)), servers.fastapi2, fastapiList)));
    } else {
      notes.push(`"fastapi (2 workers)" skipped: it would not fit in BENCH_BUDGET=${config.budget} s.`);
    }
  }

  // Order rows by workload, then server, for reading.
  const order = Object.values(servers) as string[];
  // W7's rows are not in the list: after every listed workload.
  const position = (row: Row) => {
    const at = list.findIndex((w) => w.title === row.title);
    return at < 0 ? list.length : at;
  };
  rows.sort((a, b) => position(a) - position(b) || order.indexOf(a.server) - order.indexOf(b.server));

  const foreignCores = otherLoad();
  machine['Other load'] = `${foreignCores.toFixed(2)} cores busy on average with processes the bench did not start`;
  if (foreignCores > 0.1) {
    notes.push(`The machine was shared during this run (${foreignCores.toFixed(2)} cores used by other processes on average): every row is slower than on a quiet machine, and not all by the same amount.`);
  }
  const totalSeconds = (performance.now() - started) / 1000;
  const report: Report = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    totalSeconds,
    machine,
    settings: {
      Concurrency: `${config.connections} clients (autocannon, keep-alive, no pipelining; the floor: ${config.connections} concurrent promises)`,
      Runs: `${config.warmup} s warm-up then ${config.duration} s measured; AVIF: 1 warm-up request then ${config.avifRequests} measured; each server idle before each run`,
      pixelpress: `node scripts/start.mjs with the service's defaults: ${pixelpressProcesses} processes (wrapper, and the server or its supervisor and workers)`,
      Encoders: "JPEG quality 75 with 4:2:0 chroma subsampling on both servers (Pillow defaults; sharp quality 75, 4:2:0 below quality 90); W3 JPEG quality 80; webp/avif quality 75, avif at pixelpress' default speed",
      Inputs: `W1 ${inputs.w1.note}; W1d ${drawnW1.note} (drawn by bench/fixtures.ts); W2 ${w2.note}; W3/W5 ${w3.note}; W4/W6 ${inputs.w4.note}`,
      ...(config.tunedMallocConf ? { [servers.tuned]: `the same server started with MALLOC_CONF=${config.tunedMallocConf}` } : {}),
      'CPU per request': "user + system time of the server's whole process tree (workers, encoder children) during the measured run, divided by its answers; the floor: process.cpuUsage() of its process",
      Logging: 'request logs off on both servers (pixelpress LOG_LEVEL=warn, uvicorn --no-access-log)',
      RSS: 'VmRSS of the server process and all its children, summed, sampled every 100 ms (pixelpress includes the scripts/start.mjs wrapper)',
    },
    rows,
    memory,
    targets: computeTargets(rows, memory),
    notes,
  };

  mkdirSync(resultsDir, { recursive: true });
  const md = markdown(report);
  writeFileSync(`${resultsDir}latest.md`, md);
  writeFileSync(`${resultsDir}latest.json`, JSON.stringify({ config, ...report }, null, 2) + '\n');
  writeFileSync(`${resultsDir}latest.svg`, svgChart(report));
  process.stdout.write(md);
  log(`done in ${totalSeconds.toFixed(0)} s; wrote bench/results/latest.md, latest.json, latest.svg`);
}

main().catch((err: unknown) => {
  console.error(err);
  killAll();
  process.exitCode = 1;
});
