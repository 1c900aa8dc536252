/**
 * The npm package as a user gets it: `npm pack`, then installed from the tarball into an empty folder. It carries
 * dist/ and what runs (config, the playground page, the native addon's sources for its optional install-time build, LICENSE) and nothing of
 * the repository's tests, bench or tooling; it imports in ESM and CommonJS, its `pixelpress` bin runs, and its server
 * starts and answers /health and a real image.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { freePort } from '../../bench/procs.js';
import { decode, photo, psnr } from '../../testkit/images.js';

const root = new URL('../../', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');
/** The README's TypeScript examples under "CLI and library": the library one, then the plugin one. */
const [libraryExample, pluginExample] = [...(/## CLI and library\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** The same code for CommonJS: each `import ... from` becomes `await import()` inside an async function. */
function asCommonJs(code: string): string {
  const body = code
    .replace(/^import (\w+) from '([^']+)';$/gm, "const { default: $1 } = await import('$2');")
    .replace(/^import \{([^}]+)\} from '([^']+)';$/gm, "const {$1} = await import('$2');");
  assert.doesNotMatch(body, /^import /m, 'every import was rewritten');
  return `(async () => {\n${body}\n})().catch((err) => { console.error(err); process.exit(1); });\n`;
}

/** Polls until something answers on `url` (a server starting up), or the child exits, or 30 s pass. */
async function waitForAnswer(url: string, child: { exitCode: number | null }, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await fetch(url).then(() => true, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100)); // polling the port until it listens
  }
  assert.fail(`nothing answered ${url}: ${output()}`);
}
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
  for (const path of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/process/server.js', 'dist/cli/main.js', 'config/fonts.conf', 'native/install.mjs', 'native/binding.gyp', 'playground/index.html', 'playground/playground.js', 'playground/playground.css', 'scripts/start.mjs', 'scripts/service-env.mjs']) {
    assert.ok(files.includes(path), `${path} is in the package`);
  }
  const unwanted = files.filter((path) => /^(src|test|testkit|bench|docs|deploy|\.ci)\//.test(path) || (path.startsWith('scripts/') && !['scripts/start.mjs', 'scripts/service-env.mjs'].includes(path)) || path.endsWith('.map'));
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
  const port = await freePort();
  const child = spawn(process.execPath, [join(consumer, 'node_modules/pixelpress/dist/process/server.js')], {
    env: { PATH: process.env.PATH, PORT: String(port), PP_WORKERS: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForAnswer(`${base}/health`, child, () => output);
    assert.equal((await fetch(`${base}/health`)).status, 200, output);
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

for (const kind of ['ESM', 'CommonJS'] as const) {
  const file = kind === 'ESM' ? 'example.mjs' : 'example.cjs';
  const source = (code: string) => (kind === 'ESM' ? code : asCommonJs(code));

  test(`the README's library example runs as written from the installed package (${kind})`, { timeout: 60_000 }, async () => {
    assert.match(libraryExample ?? '', /from 'pixelpress'/);
    const input = await photo(640, 480);
    const code = [
      `const input = Buffer.from(${JSON.stringify(input.toString('base64'))}, 'base64');`,
      libraryExample!,
      'await app.ready();',
      'console.log(JSON.stringify({ width, height, mime, data: data.toString("base64"), routes: app.hasRoute({ method: "POST", url: "/resize" }) }));',
      'await app.close();',
    ].join('\n');
    writeFileSync(join(consumer, file), source(code));
    const result = spawnSync(process.execPath, [file], { cwd: consumer, encoding: 'utf8', timeout: 50_000 });
    assert.equal(result.status, 0, result.stderr);
    const { width, height, mime, data, routes } = JSON.parse(result.stdout);
    assert.deepEqual({ width, height, mime, routes }, { width: 256, height: 192, mime: 'image/webp', routes: true });
    // The output against sharp's own fit of the same input: the example really ran the operation.
    const reference = await sharp(input).resize(256, 256, { fit: 'inside' }).raw().toBuffer({ resolveWithObject: true });
    const db = psnr(await decode(Buffer.from(data, 'base64')), { data: reference.data, width: reference.info.width, height: reference.info.height, channels: reference.info.channels });
    assert.ok(db > 30, `library example output is ${db.toFixed(1)} dB from sharp's resize`);
  });

  test(`the README's plugin example runs as written from the installed package (${kind})`, { timeout: 60_000 }, async () => {
    assert.match(pluginExample ?? '', /register\(pixelpress/);
    writeFileSync(join(consumer, file), source(pluginExample!));
    const port = await freePort();
    const child = spawn(process.execPath, [file], { cwd: consumer, env: { PATH: process.env.PATH, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    try {
      const base = `http://localhost:${port}`;
      await waitForAnswer(`${base}/`, child, () => output);
      assert.equal(await (await fetch(`${base}/`)).text(), 'my app', 'the host app keeps its own /');
      assert.equal((await fetch(`${base}/img/health`)).status, 200);
      const input = await photo(400, 300);
      const answer = await fetch(`${base}/img/resize?width=200&type=png`, { method: 'POST', body: new Uint8Array(input), headers: { 'Content-Type': 'image/jpeg' } });
      assert.equal(answer.status, 200, await answer.clone().text());
      const out = await decode(Buffer.from(await answer.arrayBuffer()));
      assert.deepEqual([out.width, out.height], [200, 150]);
      const reference = await sharp(input).resize(200).raw().toBuffer({ resolveWithObject: true });
      const db = psnr(out, { data: reference.data, width: 200, height: 150, channels: reference.info.channels });
      assert.ok(db > 35, `plugin resize is ${db.toFixed(1)} dB from sharp's resize`);
      assert.equal((await fetch(`${base}/img/docs/static/swagger-initializer.js`)).status, 200);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  });
}

test('without its install script the addon is missing and the TypeScript kernel runs; build:native, as docs/deploy.md says, builds it', { timeout: 180_000 }, () => {
  const kernel = () => spawnSync(process.execPath, ['--input-type=module', '-e', "import { ringBlurKernel } from 'pixelpress'; console.log(ringBlurKernel)"], { cwd: consumer, encoding: 'utf8' }).stdout.trim();
  const installed = join(consumer, 'node_modules/pixelpress');
  // npm 11 runs an unreviewed dependency's install script with a notice (docs/deploy.md quotes it).
  assert.match(installLog, /install-scripts[^\n]*\n[^\n]*pixelpress@[\d.]+ \(install: node native\/install\.mjs/);
  assert.ok(existsSync(join(installed, 'native/build/Release/ring_blur.node')), 'the install script built the addon');
  assert.match(kernel(), /^native/);
  // What a denied script or --ignore-scripts leaves.
  rmSync(join(installed, 'native/build'), { recursive: true, force: true });
  assert.match(kernel(), /^typescript \(native addon not built/);
  const built = spawnSync('npm', ['run', 'build:native', '--prefix', 'node_modules/pixelpress'], { cwd: consumer, encoding: 'utf8' });
  assert.equal(built.status, 0, built.stdout + built.stderr);
  assert.match(kernel(), /^native/);
});
