/**
 * A bounded, seeded mutation fuzz through the HTTP API: real JPEG, PNG, WebP and GIF images with bit flips, byte
 * overwrites, truncation, duplicated chunks and overwritten header fields, each POSTed to every fuzz route. The
 * answer must always be a 200 image (its Content-Type, Content-Length and Image-Width/Height true to the body) or a
 * 4xx problem+json; never a 5xx, never a hang.
 *
 * PP_FUZZ_SEED and PP_FUZZ_CASES override the pinned seed and the case count; a failure prints each case with the
 * command that replays it alone. scripts/fuzz.ts runs the same generator for thousands of cases.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { describeFuzzFailure, fuzzBases, fuzzCase, fuzzRequest, fuzzRoutes, runFuzzCase, type Answer, type FuzzBase } from '../../testkit/hostile/fuzz.js';
import { testApp } from '../../testkit/http.js';

const SEED = Number(process.env.PP_FUZZ_SEED ?? 0x5eed2026) >>> 0;
const CASES = Number(process.env.PP_FUZZ_CASES ?? 200);

let app: FastifyInstance;
let bases: FuzzBase[];
before(async () => {
  app = await testApp();
  bases = await fuzzBases();
});
after(() => app.close());

const inject = async (request: ReturnType<typeof fuzzRequest>): Promise<Answer> => {
  const response = await app.inject(request);
  return { statusCode: response.statusCode, headers: response.headers, body: response.rawPayload };
};

test('the unmutated images are answered 200 on every fuzz route (so mutations start from working paths)', async () => {
  for (const base of bases) {
    const outcomes = await runFuzzCase(inject, { seed: 0, index: -1, base: base.name, mutations: [], body: base.data });
    for (const outcome of outcomes) {
      assert.equal(outcome.failure, undefined, `${base.name} → ${outcome.route.url}: ${outcome.failure}`);
      assert.equal(outcome.status, 200, `${base.name} → ${outcome.route.url}: ${outcome.status} ${outcome.code ?? ''}`);
    }
  }
});

test('cases are reproducible from (seed, index)', () => {
  for (const index of [0, 1, 57, CASES - 1]) {
    const a = fuzzCase(bases, SEED, index);
    const b = fuzzCase(bases, SEED, index);
    assert.deepEqual(a.mutations, b.mutations);
    assert.ok(a.body.equals(b.body));
  }
  assert.notDeepEqual(fuzzCase(bases, SEED, 0).body, fuzzCase(bases, SEED + 1, 0).body);
});

test(`mutation fuzz: ${CASES} cases x ${fuzzRoutes.length} routes, seed ${SEED}`, { timeout: 120_000 }, async (t) => {
  t.diagnostic(`seed ${SEED}; replay the run with PP_FUZZ_SEED=${SEED}, one case with node --import tsx scripts/fuzz.ts --seed ${SEED} --case N`);
  const start = performance.now();
  const failures: string[] = [];
  const statuses = new Map<string, number>();
  let slowest = { ms: 0, what: '' };
  for (let index = 0; index < CASES; index++) {
    const fuzz = fuzzCase(bases, SEED, index);
    for (const outcome of await runFuzzCase(inject, fuzz)) {
      const key = outcome.code ? `${outcome.status} ${outcome.code}` : String(outcome.status);
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      if (outcome.ms > slowest.ms) slowest = { ms: outcome.ms, what: `case ${index} → ${outcome.route.url}` };
      if (outcome.failure) failures.push(describeFuzzFailure(fuzz, outcome));
    }
  }
  const histogram = [...statuses.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, count]) => `${key}: ${count}`);
  t.diagnostic(`${CASES} cases in ${((performance.now() - start) / 1000).toFixed(1)} s; slowest ${slowest.ms.toFixed(0)} ms (${slowest.what})`);
  t.diagnostic(`statuses: ${histogram.join(', ')}`);
  assert.ok((statuses.get('200') ?? 0) > 0, 'some mutated images should still decode');
  assert.ok([...statuses.keys()].some((key) => key.startsWith('4')), 'some mutated images should be refused');
  assert.deepEqual(failures, [], `${failures.length} bad answers:\n${failures.join('\n')}`);
});
