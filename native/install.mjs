#!/usr/bin/env node
/**
 * Builds the optional native ring-blur addon with node-gyp, as `npm ci` / `npm install` runs it (the package's install
 * script) and as `npm run build:native` does. It never fails the install: without a C compiler, Python, Node's headers
 * or node-gyp, it says why and exits 0, and the service uses the TypeScript kernel (src/core/ring-blur/native.ts).
 *
 * It never downloads anything: node-gyp is pointed at the headers of the running Node (npm's nodedir setting, or the
 * include/node folder beside the node binary), and the build is skipped when neither exists.
 * PP_SKIP_NATIVE=1 skips the build. With --required (npm run build:native) or PP_REQUIRE_NATIVE=1, a build that
 * fails is an error (exit 1) instead: for a developer or CI that means to test the addon.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const required = process.argv.includes('--required') || process.env.PP_REQUIRE_NATIVE === '1';

function skip(reason) {
  // A stale addon from an earlier build would otherwise still be loaded.
  rmSync(join(here, 'build'), { recursive: true, force: true });
  const message = `pixelpress: native ring-blur addon not built (${reason}); the pure-TypeScript kernel will be used.`;
  if (required) {
    console.error(`${message} PP_REQUIRE_NATIVE=1, so this fails.`);
    process.exit(1);
  }
  console.warn(message);
  process.exit(0);
}

if (process.env.PP_SKIP_NATIVE === '1' && !required) skip('PP_SKIP_NATIVE=1');

// node-gyp: the copy npm runs scripts with (npm_config_node_gyp), else the one bundled with npm beside this node.
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    resolve(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return undefined;
  }
}

// Node's headers, so that node-gyp never tries to download them.
function findNodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured) return existsSync(join(configured, 'include', 'node', 'node_api.h')) ? configured : undefined;
  const beside = resolve(dirname(process.execPath), '..');
  return existsSync(join(beside, 'include', 'node', 'node_api.h')) ? beside : undefined;
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) skip('node-gyp not found');
const nodedir = findNodeDir();
if (!nodedir) skip("Node's headers not found (set npm's nodedir)");

const result = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '--loglevel=warn'], {
  cwd: here,
  stdio: 'inherit',
  env: { ...process.env, npm_config_nodedir: nodedir },
});
if (result.error) skip(result.error.message);
if (result.status !== 0) skip(`node-gyp exited with ${result.status ?? result.signal}; see its output above`);

// Load it once here, so a broken build is reported at install time rather than found at start-up.
try {
  const addon = createRequire(import.meta.url)(join(here, 'build', 'Release', 'ring_blur.node'));
  console.log(`pixelpress: native ring-blur addon built (${addon.isa})`);
} catch (error) {
  skip(`the built addon does not load: ${error.message}`);
}
