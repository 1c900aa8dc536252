/**
 * `npm run bench:variants`: the same service started with different environments (allocator settings, workers,
 * libvips threads), measured interleaved round by round so that a shared machine's drift falls on every variant alike.
 * Per variant and round: CPU per request of the process tree and req/s on the chosen workloads, the peak RSS of a burst
 * of concurrent 17.9 MP uploads (BURST), and the RSS left IDLE seconds after. docs/benchmarks.md's allocator table.
 *
 *   VARIANTS='{"defaults":{"MALLOC_CONF":""},"keep":{"MALLOC_CONF":"dirty_decay_ms:-1,muzzy_decay_ms:-1"}}' \
 *   WORKLOADS=W1,W2,BURST ROUNDS=2 npm run bench:variants
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { photos } from './photos.js';
import { httpLoad, multipartRequest, rawRequest, type HttpRequest } from './load.js';
import { foreignLoad, RssSampler, startPixelpress, stop, treeCpuMs, treeRssMb, waitIdle } from './procs.js';

const variants: Record<string, Record<string, string>> = JSON.parse(process.env.VARIANTS ?? '{"as started":{}}');
const rounds = Number(process.env.ROUNDS ?? 2);
const seconds = Number(process.env.BENCH_DURATION ?? 6);
const idleSeconds = Number(process.env.IDLE ?? 20);
const chosen = (process.env.WORKLOADS ?? 'W1,W2,BURST').split(',');
const connections = 8;

const inputs = await photos();
const nextcloud = [{ operation: 'autorotate' }, { operation: 'fit', params: { width: 256, height: 256, stripmeta: 'true', type: 'jpeg', norotation: 'true', quality: '80' } }];
const requests: Record<string, HttpRequest> = {
  W1: multipartRequest('/', inputs.w1),
  W2: multipartRequest('/', inputs.w2),
  W3: rawRequest(`/pipeline?operations=${encodeURIComponent(JSON.stringify(nextcloud))}`, inputs.w3),
  W6: rawRequest('/resize?width=800', inputs.w4),
};

for (let round = 1; round <= rounds; round++) {
  for (const [name, extra] of Object.entries(variants)) {
    // A start that fails throws; procs.ts kills whatever it launched when the run ends.
    const { child, url } = await startPixelpress(`variant-${name.replace(/\W+/g, '-')}`, extra);
    const results: string[] = [];
    try {
      const pid = child.pid!;
      for (const id of chosen) {
        await waitIdle(pid);
        if (id === 'BURST') {
          const sampler = new RssSampler(pid);
          const burst = await httpLoad(url, [requests.W3!], 16, { amount: 16 });
          results.push(`burst peak ${sampler.peakMb.toFixed(0)} MB (${burst.errors} errors)`);
          sampler.close();
          continue;
        }
        const request = requests[id];
        if (!request) throw new Error(`unknown workload ${id}: W1, W2, W3, W6 or BURST`);
        const slow = id === 'W3';
        await httpLoad(url, [request], connections, slow ? { amount: 4 } : { seconds: 2 });
        await waitIdle(pid);
        const other = foreignLoad();
        const cpu = treeCpuMs(pid);
        const measure = await httpLoad(url, [request], connections, slow ? { amount: 8 } : { seconds });
        results.push(`${id} ${(cpu() / measure.requests).toFixed(1)} ms CPU/req, ${measure.reqPerSec.toFixed(1)} req/s, p99 ${measure.p99Ms.toFixed(0)} ms, ${measure.errors} errors, other load ${other().toFixed(2)}`);
      }
      const busy = treeRssMb(pid);
      await sleep(idleSeconds * 1000);
      results.push(`RSS ${busy.toFixed(0)} MB, ${treeRssMb(pid).toFixed(0)} MB after ${idleSeconds} s idle`);
    } finally {
      await stop(child);
    }
    console.log(`round ${round} ${name}: ${results.join(' | ')}`);
  }
}
