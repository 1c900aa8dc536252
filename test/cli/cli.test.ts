/** The CLI runs the same registry: real process, real files on the test's side, pixels checked. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import sharp from 'sharp';
import { decode, mapPixels, photo, psnr } from '../../testkit/images.js';

function cli(args: string[], input?: Buffer) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { input, maxBuffer: 64 * 1024 * 1024 });
}

test('an operation reads stdin and writes the image to stdout', async () => {
  const input = await photo(120, 80, 'png');
  const result = cli(['flip', '--type', 'png'], input);
  assert.equal(result.status, 0, result.stderr.toString());
  assert.match(result.stderr.toString(), /png 120x80/);
  const source = await decode(input);
  assert.equal(psnr(await decode(result.stdout), mapPixels(source, 120, 80, (x, y) => [119 - x, y])), Infinity);
});

test('pipeline takes imaginary\'s operations JSON', async () => {
  const input = await photo(400, 300);
  const ops = JSON.stringify([{ operation: 'autorotate' }, { operation: 'fit', params: { width: 256, height: 256, type: 'webp' } }]);
  const result = cli(['pipeline', '--operations', ops], input);
  assert.equal(result.status, 0, result.stderr.toString());
  const meta = await sharp(result.stdout).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 256, 192]);
});

test('bad parameters exit 2 with the same message as the API', async () => {
  const result = cli(['resize', '--width', 'abc'], await photo(20, 20));
  assert.equal(result.status, 2);
  assert.equal(result.stderr.toString(), 'pixelpress: PP_INVALID_PARAM: Expected non-negative integer up to 1000000 for width but received "abc"\n');
  assert.equal(result.stdout.length, 0);
});

test('help lists every operation', () => {
  const result = cli(['--help']);
  assert.equal(result.status, 0);
  for (const name of ['resize', 'fit', 'pipeline', 'info', 'pillowblur']) assert.match(result.stdout.toString(), new RegExp(`\\b${name}\\b`));
});

test('an unknown command or bad parameters fail at once, without waiting for stdin to close', { timeout: 60_000 }, async () => {
  const { spawn } = await import('node:child_process');
  for (const args of [['nope'], ['resize', '--width', 'abc'], ['help', 'nope']]) {
    // stdin stays open (never ended): before the fix `pixelpress nope` read it first and hung.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    child.stdin.destroy();
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, args[0] === 'resize' ? /PP_INVALID_PARAM/ : /command "nope"/);
  }
});
