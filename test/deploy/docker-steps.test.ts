/**
 * The Dockerfile's steps work: scripts/docker-steps.ts carries out every COPY and RUN in a scratch folder (a real
 * `npm ci --omit=dev` from the registry included), then starts the final stage as the image would: its ENV, uid 1000,
 * a read-only root filesystem when the test runs as root. The HEALTHCHECK command must pass, Nextcloud's preview
 * call must answer a WebP, and SIGTERM must end it with exit 0.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import type { StepsSummary } from '../../scripts/docker-steps.js';

const root = new URL('../../', import.meta.url).pathname;

// A production npm ci plus the addon's compile: about 30 s on an idle 2-core machine, several times that when loaded.
test('the Dockerfile steps build and start a non-root, read-only, healthy service', { timeout: 600_000 }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/docker-steps.ts'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, stderr);
  const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as StepsSummary;
  assert.deepEqual(summary.stages, ['build', '1']);
  assert.equal(summary.uid, 1000);
  assert.equal(summary.jemalloc, true, 'LD_PRELOAD=libjemalloc.so.2 resolved and loaded');
  // The node images carry Node's headers, so the addon builds there. Here it builds when Node's headers are beside
  // this node or named by npm's nodedir (native/install.mjs); a node without either (npx -p node@22) skips it.
  const nodedir = spawnSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8' }).stdout.trim();
  const headers = [join(dirname(process.execPath), '..'), nodedir].some((dir) => dir && dir !== 'undefined' && existsSync(join(dir, 'include/node/node_api.h')));
  assert.equal(summary.nativeAddon, headers, 'the build stage compiled the addon and the final stage has it');
  assert.equal(summary.readOnlyRoot, process.getuid?.() === 0, 'read-only when the test can make a mount namespace');
  assert.equal(summary.pipelineStatus, 200);
  assert.equal(summary.exitCode, 0);
  // Only production files: the final stage is dist, config, the addon and production node_modules, under 100 MB.
  assert.ok(summary.finalStageBytes < 100 * 1024 * 1024, `final stage ${summary.finalStageBytes} bytes`);
  // The steps and checks are printed one per line, so a failure shows which step it was.
  assert.match(stderr, /RUN npm ci --omit=dev/);
  assert.match(stderr, /HEALTHCHECK passed/);
});
