/**
 * npm run stress: the reliability figures, against the real built service (supervisor + 2 workers) on loopback.
 * Hostile inputs and fuzz cases (5xx must be 0), workers killed under load, overload (offered vs accepted, p99 of
 * accepted), a soak with RSS sampled throughout, and bytes written to disk (must be 0). Kept out of `npm test`:
 * it takes a few minutes. Sizes: STRESS_FUZZ (cases, default 1000), STRESS_SOAK (requests, default 5000).
 */
import { execSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, launch, logDir, processTree, RssSampler, stop, treeRssMb, waitReady } from '../bench/procs.js';
import { percentile } from '../bench/load.js';
import { hostileImages, hostileRequests } from '../testkit/hostile/catalogue.js';
import { acceptableStatuses, type HostileInput } from '../testkit/hostile/expectations.js';
import { fetchAnswer, fuzzBases, fuzzCase, randomSeed, runFuzzCase } from '../testkit/hostile/fuzz.js';
import { photo } from '../testkit/images.js';
import { roundTwoAttacks, slowLoris, type AttackOutcome } from '../testkit/attacks.js';

const fuzzCount = Number(process.env.STRESS_FUZZ ?? 1000);
const soakCount = Number(process.env.STRESS_SOAK ?? 5000);
const started = performance.now();

function writeBytes(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += Number(/^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return total;
}

async function post(base: string, path: string, body: Buffer, contentType: string, signal?: AbortSignal): Promise<number> {
  try {
    // A bound on every request, so a connection lost with a killed worker cannot hang the run: 60 s is twice the deadline.
    const response = await fetch(base + path, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': contentType }, signal: signal ?? AbortSignal.timeout(60_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0; // connection dropped
  }
}

function multipartOf(field: string, input: HostileInput | { body: Buffer; contentType: string; filename: string }): { body: Buffer; contentType: string } {
  const boundary = 'pixelpress-stress-7d1e';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${input.filename ?? 'x.bin'}"\r\nContent-Type: ${input.contentType ?? 'application/octet-stream'}\r\n\r\n`;
  return { body: Buffer.concat([Buffer.from(head), input.body, Buffer.from(`\r\n--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}

function readProcText(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

function countBy(values: number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** Probe /health one request at a time until stopped; the slowest answer is what a load balancer's check would see. */
function watchHealth(base: string): { stop(): Promise<{ maxMs: number; failures: number; samples: number }> } {
  let running = true, maxMs = 0, failures = 0, samples = 0;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      try {
        const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5_000) });
        await response.arrayBuffer();
        if (response.status !== 200) failures++;
      } catch {
        failures++;
      }
      maxMs = Math.max(maxMs, performance.now() - t);
      samples++;
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { maxMs, failures, samples };
    },
  };
}

// --- the service -------------------------------------------------------------------------------------------------
execSync('npm run build', { stdio: 'ignore' });
const emptyTmp = mkdtempSync(join(tmpdir(), 'pp-stress-tmp-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = launch('stress-server', process.execPath, ['scripts/start.mjs'], {
  // A 10 s deadline instead of 30 s: the deadline attacks below each hold a worker that long.
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PP_WORKERS: '2', TMPDIR: emptyTmp, LOG_LEVEL: 'warn', PP_PROCESS_TIMEOUT_SECONDS: '10' },
});
await waitReady(server, 'stress-server', `${base}/health`);
await sleep(1000); // both workers up
const rss = new RssSampler(server.pid!);
const pids = () => processTree(server.pid!);
const diskBefore = writeBytes(pids());
const report: Record<string, unknown> = {};
const photoSmall = await photo(640, 400);
/** Bytes the server tree wrote to storage after each section (dead workers' writes count in the supervisor's). */
const diskBySection: Record<string, number> = {};
let diskMark = diskBefore;
const markDisk = (section: string) => {
  const now = writeBytes(pids());
  diskBySection[section] = now - diskMark;
  diskMark = now;
};

try {
  // /health is timed through every hostile section (hostile inputs, round-2 attacks, fuzz): a load balancer's check
  // must keep answering while the service refuses attacks.
  const hostileHealth = watchHealth(base);

  // --- hostile inputs ------------------------------------------------------------------------------------------
  const hostile = await hostileImages();
  const requests = await hostileRequests();
  let tried = 0, fiveXx = 0, unexpected = 0;
  const judge = (status: number, input: HostileInput, where: string) => {
    tried++;
    if (status >= 500 || status === 0) fiveXx++;
    if (!acceptableStatuses(input.expect).includes(status)) {
      unexpected++;
      console.log(`  unexpected ${status} for ${input.name} (${where})`);
    }
  };
  for (const input of hostile) {
    const form = multipartOf('img', input);
    judge(await post(base, '/', form.body, form.contentType), input, 'POST / multipart');
    judge(await post(base, '/resize?width=100', input.body, input.contentType ?? 'application/octet-stream'), input, 'POST /resize raw');
  }
  for (const input of requests) judge(await post(base, '/', input.body, input.contentType!), input, 'POST / as sent');
  report.hostile = { tried, fiveXx, unexpected };
  console.log(`hostile inputs: ${tried} tried, ${fiveXx} answered 5xx or dropped, ${unexpected} with another status than expected`);

  markDisk('hostile');
  // --- round-2 attacks, with /health timed throughout ---------------------------------------------------------
  {
    const health = watchHealth(base);
    const baselineMb = treeRssMb(server.pid!);
    rss.reset();
    const perWorkerPeakMb = new Map<number, number>();
    const workerSampler = setInterval(() => {
      for (const pid of pids().slice(1)) {
        const kb = Number(/VmRSS:\s+(\d+)/.exec(readProcText(pid, 'status'))?.[1] ?? 0);
        perWorkerPeakMb.set(pid, Math.max(perWorkerPeakMb.get(pid) ?? 0, kb / 1024));
      }
    }, 100);
    const outcomes: { name: string; status: number; ms: number; ok: boolean }[] = [];
    for (const attack of await roundTwoAttacks()) {
      const { status, ms } = await attack.send(base);
      outcomes.push({ name: attack.name, status, ms: Math.round(ms), ok: attack.expect.includes(status) });
    }
    // Slow-loris uploads beside normal clients: the normal ones must still be served.
    const loris = Array.from({ length: 24 }, () => slowLoris(base));
    const normal = await Promise.all(Array.from({ length: 8 }, () => post(base, '/resize?width=100', photoSmall, 'image/jpeg')));
    const lorisOutcomes: AttackOutcome[] = await Promise.all(loris);
    clearInterval(workerSampler);
    const peakMb = rss.peakMb;
    await sleep(3000);
    const afterMb = treeRssMb(server.pid!);
    const { maxMs, failures, samples } = await health.stop();
    const attacksFailed = outcomes.filter((o) => !o.ok);
    report.attacks = {
      outcomes,
      slowLoris: { sockets: 24, statuses: countBy(lorisOutcomes.map((o) => o.status)), normalClientsOk: normal.filter((s) => s === 200).length, normalClients: normal.length },
      health: { samples, maxMs: Math.round(maxMs), failures },
      rssMb: { baseline: Math.round(baselineMb), peak: Math.round(peakMb), after3s: Math.round(afterMb), perWorkerPeak: [...perWorkerPeakMb.values()].map(Math.round) },
    };
    for (const o of outcomes) console.log(`  ${o.ok ? 'refused' : 'NOT REFUSED'}: ${o.name}: ${o.status} in ${o.ms} ms`);
    console.log(`round-2 attacks: ${outcomes.length - attacksFailed.length}/${outcomes.length} answered as expected; slow-loris 24 sockets ${JSON.stringify(countBy(lorisOutcomes.map((o) => o.status)))}, ` +
      `normal clients ${normal.filter((s) => s === 200).length}/${normal.length} OK; /health max ${maxMs.toFixed(0)} ms over ${samples} probes (${failures} failed); ` +
      `RSS baseline ${baselineMb.toFixed(0)} MB, peak ${peakMb.toFixed(0)} MB, 3 s after ${afterMb.toFixed(0)} MB; per-worker peak ${[...perWorkerPeakMb.values()].map((v) => v.toFixed(0)).join(', ')} MB`);
  }

  markDisk('attacks');
  // --- fuzz ----------------------------------------------------------------------------------------------------
  const seed = randomSeed();
  const bases = await fuzzBases();
  let fuzzRequests = 0, fuzzFailures = 0;
  for (let i = 0; i < fuzzCount; i++) {
    const outcomes = await runFuzzCase((request) => fetchAnswer(base, request), fuzzCase(bases, seed, i));
    fuzzRequests += outcomes.length;
    fuzzFailures += outcomes.filter((o) => o.failure).length;
  }
  report.fuzz = { seed, cases: fuzzCount, requests: fuzzRequests, failures: fuzzFailures };
  console.log(`fuzz: ${fuzzCount} cases (${fuzzRequests} requests, seed ${seed}), ${fuzzFailures} failures (5xx, malformed or slow)`);

  markDisk('fuzz');
  {
    const { maxMs, failures, samples } = await hostileHealth.stop();
    report.healthDuringHostileSections = { samples, maxMs: Math.round(maxMs), failures };
    console.log(`/health through hostile inputs, attacks and fuzz: max ${maxMs.toFixed(0)} ms over ${samples} probes, ${failures} failed`);
  }

  // --- workers killed under load --------------------------------------------------------------------------------
  const photoJpeg = await photo(1280, 800);
  const form = multipartOf('img', { body: photoJpeg, contentType: 'image/jpeg', filename: 'p.jpg' });
  const crashStatuses: number[] = [];
  let loading = true;
  const load = Promise.all(Array.from({ length: 4 }, async () => {
    while (loading) crashStatuses.push(await post(base, '/', form.body, form.contentType));
  }));
  let kills = 0;
  for (let k = 0; k < 3; k++) {
    await sleep(1500);
    const workers = pids().filter((pid) => /dist\/process\/server\.js/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')) && pid !== pids()[1]);
    const victim = workers.at(-1);
    if (victim) {
      process.kill(victim, 'SIGSEGV');
      kills++;
    }
  }
  await sleep(2000);
  loading = false;
  await load;
  const restarts = (readFileSync(`${logDir}stress-server.log`, 'utf8').match(/worker died; starting a new one/g) ?? []).length;
  const healthy = (await fetch(`${base}/health`)).status === 200 && (await post(base, '/', form.body, form.contentType)) === 200;
  report.crashes = { kills, restarts, requests: crashStatuses.length, ok: crashStatuses.filter((s) => s === 200).length, dropped: crashStatuses.filter((s) => s !== 200).length, healthyAfter: healthy };
  console.log(`worker crashes: ${kills} SIGSEGV sent, ${restarts} restarts, ${crashStatuses.filter((s) => s === 200).length}/${crashStatuses.length} requests OK during them, healthy after: ${healthy}`);

  markDisk('crashes');
  // --- every worker killed at once: the supervisor restarts them (it used to exit for good) ------------------------
  {
    // pids(): start.mjs, then the supervisor (also dist/process/server.js), then the workers and their encoder children.
    const supervisor = pids()[1];
    const workers = pids().filter((pid) => pid !== supervisor && /dist\/process\/server\.js/.test(readProcText(pid, 'cmdline')));
    const killedAt = performance.now();
    for (const pid of workers) process.kill(pid, 'SIGKILL');
    let recoveredMs = NaN;
    while (performance.now() - killedAt < 30_000) {
      const status = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.status, () => 0);
      // A 200 from a dying worker is possible in the first instant; only count one after the kill took effect.
      if (status === 200 && workers.every((pid) => !readProcText(pid, 'status'))) {
        recoveredMs = performance.now() - killedAt;
        break;
      }
      await sleep(20);
    }
    report.allWorkersKilled = { killed: workers.length, answeredAgainMs: Math.round(recoveredMs) };
    console.log(`all ${workers.length} workers killed at once: /health answered again after ${recoveredMs.toFixed(0)} ms`);
    await sleep(2000); // let the second replacement start before the overload
  }

  markDisk('kill-all');
  // --- overload ------------------------------------------------------------------------------------------------
  const big = multipartOf('img', { body: await photo(2560, 1600), contentType: 'image/jpeg', filename: 'w1.jpg' });
  const overloadSeconds = 10;
  const until = performance.now() + overloadSeconds * 1000;
  const accepted: number[] = [], rejectedMs: number[] = [];
  let offered = 0, other = 0;
  rss.reset();
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (performance.now() < until) {
      const t = performance.now();
      offered++;
      const status = await post(base, '/', big.body, big.contentType);
      const ms = performance.now() - t;
      if (status === 200) accepted.push(ms);
      else if (status === 503) rejectedMs.push(ms);
      else other++;
    }
  }));
  accepted.sort((a, b) => a - b);
  rejectedMs.sort((a, b) => a - b);
  report.overload = {
    clients: 64, seconds: overloadSeconds, offeredPerSecond: offered / overloadSeconds, acceptedPerSecond: accepted.length / overloadSeconds,
    rejected503: rejectedMs.length, other, acceptedP50Ms: percentile(accepted, 50), acceptedP99Ms: percentile(accepted, 99),
    rejectedP99Ms: percentile(rejectedMs, 99), peakRssMb: rss.peakMb,
  };
  console.log(`overload: 64 clients offered ${(offered / overloadSeconds).toFixed(1)} req/s, accepted ${(accepted.length / overloadSeconds).toFixed(1)} req/s, ` +
    `${rejectedMs.length} answered 503 (p99 ${percentile(rejectedMs, 99).toFixed(1)} ms), ${other} other; accepted p50 ${percentile(accepted, 50).toFixed(0)} ms, p99 ${percentile(accepted, 99).toFixed(0)} ms; peak RSS ${rss.peakMb.toFixed(0)} MB`);

  markDisk('overload');
  // --- soak ----------------------------------------------------------------------------------------------------
  const small = await photo(640, 400);
  const png = await photo(450, 300, 'png');
  const mix = [
    () => post(base, '/', multipartOf('img', { body: small, contentType: 'image/jpeg', filename: 's.jpg' }).body, 'multipart/form-data; boundary=pixelpress-stress-7d1e'),
    () => post(base, '/resize?width=200&type=webp', png, 'image/png'),
    () => post(base, `/pipeline?operations=${encodeURIComponent('[{"operation":"autorotate"},{"operation":"fit","params":{"width":256,"height":256,"type":"jpeg"}}]')}`, photoJpeg, 'image/jpeg'),
    () => post(base, '/crop?width=100&height=100', small, 'image/jpeg'),
  ];
  const checkpoints: number[] = [];
  let done = 0, soakErrors = 0;
  rss.reset();
  await Promise.all(Array.from({ length: 8 }, async (_, worker) => {
    for (let i = worker; i < soakCount; i += 8) {
      if ((await mix[i % mix.length]!()) !== 200) soakErrors++;
      done++;
      if (done % Math.ceil(soakCount / 10) === 0) checkpoints.push(treeRssMb(server.pid!));
    }
  }));
  await sleep(2000);
  const afterSoak = treeRssMb(server.pid!);
  report.soak = { requests: soakCount, errors: soakErrors, rssCheckpointsMb: checkpoints.map((v) => Math.round(v)), peakRssMb: Math.round(rss.peakMb), postSoakRssMb: Math.round(afterSoak) };
  console.log(`soak: ${soakCount} mixed requests, ${soakErrors} errors; RSS every 10%: ${checkpoints.map((v) => v.toFixed(0)).join(' ')} MB; peak ${rss.peakMb.toFixed(0)} MB, 2 s after ${afterSoak.toFixed(0)} MB`);

  markDisk('soak');
  // --- disk ----------------------------------------------------------------------------------------------------
  const written = writeBytes(pids()) - diskBefore;
  const tmpEntries = readdirSync(emptyTmp).length;
  report.disk = { bytesWrittenByLiveProcesses: written, tempFiles: tmpEntries, bySection: diskBySection };
  console.log(`disk: ${written} bytes written by the server processes alive at the end, ${tmpEntries} files in its TMPDIR`);
  for (const pid of pids()) {
    const bytes = writeBytes([pid]);
    if (bytes > 0) console.log(`  pid ${pid} (${readProcText(pid, 'cmdline').replace(/\0/g, ' ').trim()}) wrote ${bytes} bytes`);
  }
} finally {
  rss.close();
  await stop(server);
  rmSync(emptyTmp, { recursive: true, force: true });
}
console.log(`\n${JSON.stringify(report, null, 2)}\nstress finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
