/** `pixelpress serve`: the service started from the CLI, a flag for every environment variable, flags over variables. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import sharp from 'sharp';
import { flagFor } from '../../src/cli/serve.js';
import { configEnvNames } from '../../src/process/config.js';
import { decode, photo, psnr } from '../../testkit/images.js';
import { ensureBuilt, startServer } from '../../testkit/server-process.js';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;

test('help serve names a flag for every environment variable the service reads', async () => {
  await ensureBuilt();
  const result = spawnSync(process.execPath, [cli, 'help', 'serve'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const listed = [...result.stdout.matchAll(/^ {2}--([a-z-]+) +([A-Z_]+)$/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(listed.map(([, name]) => name).sort(), configEnvNames().sort());
  for (const [flag, name] of listed) assert.equal(flag, flagFor(name!));
  assert.ok(listed.some(([flag]) => flag === 'max-upload-bytes'));
});

test('serve starts the service; its flags win over the environment', { timeout: 90_000 }, async () => {
  const server = await startServer(
    { PP_API_KEY: 'key-from-the-environment', PP_MAX_UPLOAD_BYTES: '50000000' },
    { command: [process.execPath, cli, 'serve', '--port', '0', '--workers', '0', '--api-key', 'key-from-a-flag', '--max-upload-bytes', '200000'] },
  );
  try {
    assert.equal((await fetch(`${server.base}/health`)).status, 200);
    const input = await photo(400, 300);
    const send = (body: Uint8Array<ArrayBuffer>, key: string) => fetch(`${server.base}/resize?width=200&type=png`, { method: 'POST', body, headers: { 'Content-Type': 'image/jpeg', 'API-Key': key } });
    assert.equal((await send(new Uint8Array(input), 'key-from-the-environment')).status, 401);
    const answer = await send(new Uint8Array(input), 'key-from-a-flag');
    assert.equal(answer.status, 200, await answer.clone().text());
    const out = await decode(Buffer.from(await answer.arrayBuffer()));
    const reference = await sharp(input).resize(200).raw().toBuffer({ resolveWithObject: true });
    const db = psnr(out, { data: reference.data, width: reference.info.width, height: reference.info.height, channels: reference.info.channels });
    assert.ok(db > 35, `resize through serve is ${db.toFixed(1)} dB from sharp's`);
    // --max-upload-bytes 200000 is the limit, not the environment's 50 MB.
    const tooBig = await send(new Uint8Array(300_000), 'key-from-a-flag');
    assert.equal(tooBig.status, 413);
    assert.equal((await tooBig.json()).code, 'PP_PAYLOAD_TOO_LARGE');
  } finally {
    server.child.kill('SIGTERM');
  }
  // SIGTERM reaches the service through the CLI and start script: it drains and exits 0.
  assert.equal(await server.exited, 0, server.output());
});

test('an unknown flag or a bad value stops serve before it listens', async () => {
  await ensureBuilt();
  const unknown = spawnSync(process.execPath, [cli, 'serve', '--prot', '9000'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /Unknown option '--prot'/);
  const bad = spawnSync(process.execPath, [cli, 'serve', '--port', '0', '--workers', 'many'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /invalid configuration: Expected integer of at least 0 for PP_WORKERS but received "many"/);
});
