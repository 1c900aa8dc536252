/** The README's endpoint table and environment tables against the code they describe. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { limitEnv } from '../../src/core/limits.js';
import { operations } from '../../src/core/operations/index.js';
import { buildOpenApiDocument } from '../../src/http/openapi.js';
import { configEnvNames } from '../../src/process/config.js';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const section = (heading: string) => {
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `README has a "## ${heading}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
};

test("the endpoint table lists exactly the routes the app serves, but pixelpress's own operations (listed in /docs)", () => {
  const rows = [...section('Endpoints').matchAll(/^\| (`[^|]+`) \|/gm)].map((m) => m[1]!);
  // "`POST /flip` / `POST /flop`" is one row for two routes.
  const documented = new Set(rows.flatMap((cell) => [...cell.matchAll(/`(GET|POST) (\/[a-z{}/]*)`/g)].map((m) => `${m[1]} ${m[2]}`)));
  const paths = (buildOpenApiDocument() as { paths: Record<string, Record<string, unknown>> }).paths;
  // Service routes are described in "Operations" and "Errors"; the table is for images, the versions and liveness.
  const elsewhere = new Set(['GET /ready', 'GET /metrics', 'GET /problems/{code}', ...operations.filter((o) => o.origin === 'pixelpress').map((o) => `POST ${o.path}`)]);
  const served = new Set(Object.entries(paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`)).filter((route) => !elsewhere.has(route)));
  assert.deepEqual([...documented].sort(), [...served].sort());
});

test("each operation's row names what it requires: all of required, or one of oneOf (the seed: its upload field)", () => {
  let checked = 0;
  for (const row of section('Endpoints').matchAll(/^\| `POST (\/[a-z]*)`(?: \/ `POST (\/[a-z]*)`)? \|[^|]*\|\s*([^|]*?)\s*\|$/gm)) {
    const names = [...row[3]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    for (const path of [row[1]!, row[2]].filter((p): p is string => p !== undefined)) {
      const operation = operations.find((o) => o.path === path);
      if (!operation) continue;
      if (operation.path === '/') assert.deepEqual(names, [operation.field], path);
      else if (row[3]!.includes(' or ')) assert.deepEqual([...names].sort(), [...operation.oneOf].sort(), path);
      else assert.deepEqual([...names].sort(), [...operation.required].sort(), path);
      checked++;
    }
  }
  assert.equal(checked, operations.filter((o) => o.origin !== 'pixelpress').length, 'every operation of imaginary and the seed has a row');
});

test('the environment tables name every variable the server reads, and only those', () => {
  const read = new Set(configEnvNames());
  assert.ok(Object.values(limitEnv).every((name) => read.has(name)), 'the limits are among them');
  const tables = section('Limits and configuration') + section('Access control') + section('Remote sources');
  const documented = new Set([...tables.matchAll(/^\| `([A-Z_]+)`(?: \/ `([A-Z_]+)`)? \|/gm)].flatMap((m) => [m[1]!, m[2]].filter((name): name is string => Boolean(name))));
  assert.deepEqual([...documented].sort(), [...read].sort());
});

// The README's library and plugin examples run as written from the installed package: test/deploy/package.test.ts.
