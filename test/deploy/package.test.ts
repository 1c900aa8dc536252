/**
 * The npm package as a user gets it: `npm pack`, then installed from the tarball into an empty folder. It carries
 * dist/ and what runs (config, the playground page, the native addon's sources for its optional install-time build, LICENSE) and nothing of
 * the repository's tests, bench or tooling; it imports in ESM and CommonJS, its `pixelpress` bin runs, and its server
 * starts and answers /health and a real image.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { photo } from '../../testkit/images.js';

const root = new URL('../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'pixelpress-package-'));
const consumer = join(work, 'consumer');
let tarball = '';
let files: string[] = [];
let installLog = '';

before(() => {
  // --ignore-scripts is not used: npm runs `prepare` (the build) before packing, as it would for `npm publish`.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  tarball = join(work, packed[0].filename);
  files = packed[0].files.map((file: { path: string }) => file.path);
  execFileSync('mkdir', ['-p', consumer]);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const installed = spawnSync('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: consumer, encoding: 'utf8' });
  installLog = installed.stdout + installed.stderr;
  assert.equal(installed.status, 0, installLog);
});

after(() => rmSync(work, { recursive: true, force: true }));

test('the tarball holds dist, runtime files and LICENSE, and none of the repository\'s tooling', () => {
  for (const path of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/process/server.js', 'dist/cli/main.js', 'config/fonts.conf', 'native/install.mjs', 'native/binding.gyp', 'playground/index.html', 'playground/playground.js', 'playground/playground.css']) {
    assert.ok(files.includes(path), `${path} is in the package`);
  }
  const unwanted = files.filter((path) => /^(src|test|testkit|bench|docs|deploy|\.ci)\//.test(path) || (path.startsWith('scripts/') && path !== 'scripts/start.mjs') || path.endsWith('.map'));
  assert.deepEqual(unwanted, []);
  assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /^MIT License/);
  assert.equal(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).license, 'MIT');
});

test('installing it prints no engine warning about pixelpress itself', () => {
  assert.doesNotMatch(installLog, /EBADENGINE[^\n]*pixelpress/);
  // What npm says about install scripts, for the record (pixelpress's own `install` builds the optional addon).
  const scripts = installLog.split('\n').filter((line) => /install-scripts|allowScripts/.test(line));
  if (scripts.length) console.log(`npm's install-script advisory:\n${scripts.join('\n')}`);
});

test('it imports from ESM and from CommonJS', () => {
  const esm = spawnSync(process.execPath, ['--input-type=module', '-e', "import { run, operations, buildApp } from 'pixelpress'; console.log(typeof run, typeof buildApp, operations.length > 0)"], { cwd: consumer, encoding: 'utf8' });
  assert.equal(esm.status, 0, esm.stderr);
  assert.equal(esm.stdout.trim(), 'function function true');
  // From CommonJS through import(): the registry finds its operation files with a top-level await (adding an operation
  // is adding its file), which require() of an ES module refuses (ERR_REQUIRE_ASYNC_MODULE).
  writeFileSync(join(consumer, 'check.cjs'), "import('pixelpress').then(({ run }) => console.log(typeof run));");
  const cjs = spawnSync(process.execPath, ['check.cjs'], { cwd: consumer, encoding: 'utf8' });
  assert.equal(cjs.status, 0, cjs.stderr);
  assert.equal(cjs.stdout.trim(), 'function');
});

test('the installed bin runs and prints its version', () => {
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const result = spawnSync(join(consumer, 'node_modules/.bin/pixelpress'), ['--version'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), version);
});

test('the installed server starts and processes an image', { timeout: 60_000 }, async () => {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  const child = spawn(process.execPath, [join(consumer, 'node_modules/pixelpress/dist/process/server.js')], {
    env: { PATH: process.env.PATH, PORT: String(port), PP_WORKERS: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  try {
    const base = `http://127.0.0.1:${port}`;
    // A worker starts in about 1 s here; the deadline allows for a loaded machine.
    const deadline = Date.now() + 30_000;
    let health: Response | undefined;
    while (!health && Date.now() < deadline && child.exitCode === null) {
      health = await fetch(`${base}/health`).catch(() => undefined);
      if (!health) await new Promise((resolve) => setTimeout(resolve, 100)); // polling the port until it listens
    }
    assert.equal(health?.status, 200, output);
    const input = await photo(400, 300);
    const answer = await fetch(`${base}/resize?width=200&type=png`, { method: 'POST', body: new Uint8Array(input), headers: { 'Content-Type': 'image/jpeg' } });
    assert.equal(answer.status, 200, await answer.clone().text());
    const meta = await sharp(Buffer.from(await answer.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 200, 150]);
    // The playground's files are found from dist/ inside node_modules, as they are from src/ in the repository.
    for (const [path, type] of [['/playground', 'text/html'], ['/playground/playground.js', 'text/javascript'], ['/playground/playground.css', 'text/css']]) {
      const page = await fetch(`${base}${path}`);
      assert.equal(page.status, 200, `${path}: ${output}`);
      assert.match(page.headers.get('content-type') ?? '', new RegExp(`^${type}`), path);
    }
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});
