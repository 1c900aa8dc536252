/**
 * The long mutation fuzz: the generator of test/http/fuzz.test.ts for N cases (default 5000).
 *
 *   node --import tsx scripts/fuzz.ts [count] [--seed N] [--case I] [--lenient] [--url http://127.0.0.1:8000] [--dump file]
 *
 * In-process by default (buildApp + inject(), default limits; --lenient decodes corrupt data as far as it goes,
 * which takes the decoders much deeper); with --url it fuzzes a running server over HTTP.
 * Prints cases run, a status histogram (overall and per route), the slowest answers, and every 5xx or malformed
 * answer with the command that replays it. --case I runs only case I of --seed and prints it in full (--dump writes
 * its body to a file for a debugger). Exits 1 when anything failed.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeFuzzFailure, fetchAnswer, fuzzBases, fuzzCase, fuzzRequest, fuzzRoutes, randomSeed, runFuzzCase, type Answer, type FuzzOutcome } from '../testkit/hostile/fuzz.js';
import { buildApp } from '../src/http/app.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seed: { type: 'string' },
    case: { type: 'string' },
    url: { type: 'string' },
    dump: { type: 'string' },
    'slow-ms': { type: 'string' },
    lenient: { type: 'boolean' },
  },
});

const count = positionals[0] === undefined ? 5000 : Number(positionals[0]);
const seed = values.seed === undefined ? randomSeed() : Number(values.seed) >>> 0;
const slowMs = values['slow-ms'] === undefined ? 10_000 : Number(values['slow-ms']);
if (!Number.isInteger(count) || count < 1) throw new Error(`Expected a positive case count but received ${positionals[0]}`);
if (!Number.isFinite(seed)) throw new Error(`Expected a numeric seed but received ${values.seed}`);

type Send = (request: ReturnType<typeof fuzzRequest>) => Promise<Answer>;

async function makeSender(): Promise<{ send: Send; close: () => Promise<void> }> {
  if (values.url) {
    const base = values.url.replace(/\/$/, '');
    return { send: (request) => fetchAnswer(base, request), close: async () => {} };
  }
  const app = await buildApp(values.lenient ? { decode: { lenient: true } } : {});
  await app.ready();
  const send: Send = async (request) => {
    const response = await app.inject(request);
    return { statusCode: response.statusCode, headers: response.headers, body: response.rawPayload };
  };
  return { send, close: () => app.close() };
}

const bases = await fuzzBases();
const { send, close } = await makeSender();

if (values.case !== undefined) {
  const fuzz = fuzzCase(bases, seed, Number(values.case));
  console.log(`case ${fuzz.index} of seed ${fuzz.seed}: base ${fuzz.base}, ${fuzz.body.length} bytes`);
  for (const mutation of fuzz.mutations) console.log(`  ${mutation}`);
  if (values.dump) {
    writeFileSync(values.dump, fuzz.body);
    console.log(`body written to ${values.dump}`);
  }
  let failed = false;
  for (const outcome of await runFuzzCase(send, fuzz, slowMs)) {
    console.log(`POST ${outcome.route.url} (${outcome.route.mode}): ${outcome.status}${outcome.code ? ` ${outcome.code}` : ''} in ${outcome.ms.toFixed(0)} ms${outcome.failure ? ` FAILED: ${outcome.failure}` : ''}`);
    failed ||= outcome.failure !== undefined;
  }
  await close();
  process.exit(failed ? 1 : 0);
}

console.log(`fuzz: ${count} cases x ${fuzzRoutes.length} routes, seed ${seed}${values.url ? `, against ${values.url}` : `, in-process${values.lenient ? ', lenient decoding' : ''}`}`);
const started = performance.now();
const overall = new Map<string, number>();
const perRoute = new Map<string, Map<string, number>>();
const failures: string[] = [];
const slowest: { ms: number; what: string }[] = [];
const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
const keyOf = (outcome: FuzzOutcome) => (outcome.code ? `${outcome.status} ${outcome.code}` : String(outcome.status));

for (let index = 0; index < count; index++) {
  const fuzz = fuzzCase(bases, seed, index);
  for (const outcome of await runFuzzCase(send, fuzz, slowMs)) {
    bump(overall, keyOf(outcome));
    const routeMap = perRoute.get(outcome.route.url) ?? new Map<string, number>();
    perRoute.set(outcome.route.url, routeMap);
    bump(routeMap, keyOf(outcome));
    slowest.push({ ms: outcome.ms, what: `case ${index} → POST ${outcome.route.url} (${keyOf(outcome)})` });
    slowest.sort((a, b) => b.ms - a.ms).splice(5);
    if (outcome.failure) {
      const line = describeFuzzFailure(fuzz, outcome);
      failures.push(line);
      console.log(`FAIL ${line}`);
    }
  }
  if ((index + 1) % 500 === 0) {
    console.log(`  ${index + 1}/${count} cases, ${((performance.now() - started) / 1000).toFixed(1)} s, rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
  }
}
await close();

const seconds = (performance.now() - started) / 1000;
const format = (map: Map<string, number>) =>
  [...map.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, n]) => `    ${key.padEnd(28)} ${n}`).join('\n');
console.log(`\ncases run: ${count} (${count * fuzzRoutes.length} requests) in ${seconds.toFixed(1)} s, seed ${seed}`);
console.log(`statuses:\n${format(overall)}`);
for (const [url, map] of perRoute) console.log(`  POST ${url}\n${format(map)}`);
console.log(`slowest:\n${slowest.map((entry) => `    ${entry.ms.toFixed(0).padStart(6)} ms  ${entry.what}`).join('\n')}`);
const fiveXX = failures.filter((line) => / status 5\d\d/.test(line) || /: status 5\d\d/.test(line));
console.log(`\n5xx answers: ${[...overall.keys()].filter((key) => key.startsWith('5')).reduce((n, key) => n + overall.get(key)!, 0)}`);
console.log(`failures: ${failures.length}${fiveXX.length ? ` (${fiveXX.length} of them 5xx)` : ''}`);
for (const line of failures) console.log(line);
process.exit(failures.length > 0 ? 1 : 0);
