/** The README's "Try it" commands, run as written (curl, against a real socket) and their outputs checked. */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { buildApp } from '../../src/http/app.js';
import { photo } from '../../testkit/images.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const hasCurl = spawnSync('curl', ['--version']).status === 0;

/** The shell commands of the first sh block after "## Try it", continuation lines joined, comments dropped. */
function tryItCommands(): string[] {
  const section = readme.slice(readme.indexOf('## Try it'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

let app: FastifyInstance;
let base: string;
let dir: string;
before(async () => {
  app = await buildApp();
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  dir = mkdtempSync(join(tmpdir(), 'pp-readme-'));
  writeFileSync(join(dir, 'photo.jpg'), await photo(640, 480));
});
after(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

test('every "Try it" command works as written and gives the promised output', { skip: !hasCurl && !process.env.CI && 'curl is not installed' }, async () => {
  const commands = tryItCommands();
  assert.equal(commands.length, 4, commands.join('\n'));
  const outputs: Record<string, string> = {};
  for (const command of commands) {
    assert.match(command, /^curl /);
    const local = command.replaceAll('http://127.0.0.1:8000', base);
    // Asynchronously: the server answering runs in this very process.
    const { stdout } = await promisify(execFile)('bash', ['-c', `${local} --fail-with-body --silent --show-error`], { cwd: dir, encoding: 'latin1', timeout: 30_000 });
    outputs[command] = stdout;
  }
  const meta = (file: string) => sharp(readFileSync(join(dir, file))).metadata();
  const blurred = await meta('blurred.jpg');
  assert.deepEqual([blurred.format, blurred.width, blurred.height], ['jpeg', 640, 480]);
  const small = await meta('small.webp');
  assert.deepEqual([small.format, small.width, small.height], ['webp', 300, 225]);
  const square = await meta('square.jpg');
  assert.deepEqual([square.format, square.width, square.height], ['jpeg', 200, 200]);
  const preview = await meta('preview.jpg');
  assert.deepEqual([preview.format, preview.width, preview.height], ['jpeg', 256, 192]);
  const headers = Object.entries(outputs).find(([command]) => command.includes('-D -'))![1];
  assert.match(headers, /image-width: 256/i);
  assert.match(headers, /image-height: 192/i);
});

test('the Quick start has exactly the two set-up commands, and .ci/run runs the same test command', () => {
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Try it'));
  const commands = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
  assert.deepEqual(commands, ['npm ci && npm start', 'npm ci && npm test']);
  const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
  assert.match(ci, /^npm ci$/m);
  assert.match(ci, /^npm test$/m);
});
