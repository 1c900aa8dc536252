/**
 * Nothing touches disk: a 30 MB upload through a real socket, with the server's temp directory pointed at an
 * empty folder, leaves that folder empty and the process's storage writes (/proc/<pid>/io write_bytes) at zero.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { startServer, type ServerProcess } from '../../testkit/server-process.js';

let server: ServerProcess;
let base: string;
let emptyTmp: string;

function writeBytes(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return Number(/^write_bytes: (\d+)$/m.exec(io)![1]);
}

before(async () => {
  emptyTmp = mkdtempSync(join(tmpdir(), 'pp-empty-tmp-'));
  // One process (no workers), so /proc/<pid>/io covers everything that handles the request.
  server = await startServer({ TMPDIR: emptyTmp, TMP: emptyTmp, TEMP: emptyTmp, PP_WORKERS: '0' });
  base = server.base;
});

after(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
  rmSync(emptyTmp, { recursive: true, force: true });
});

test('a 30 MB upload, multipart and raw, writes nothing to disk', { timeout: 120_000 }, async () => {
  // Noise does not compress: 3200x3200 RGB noise is a PNG of about 30 MB.
  const big = await sharp({ create: { width: 3200, height: 3200, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
    .png({ compressionLevel: 1 })
    .toBuffer();
  assert.ok(big.length > 30_000_000, `upload is ${big.length} bytes`);

  const before = writeBytes(server.child.pid!);
  const form = new FormData();
  form.append('img', new Blob([big]), 'big.png');
  const blurred = await fetch(`${base}/`, { method: 'POST', body: form });
  assert.equal(blurred.status, 200, await blurred.clone().text());
  const meta = await sharp(Buffer.from(await blurred.arrayBuffer())).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 3200, 3200]);

  const resized = await fetch(`${base}/resize?width=400`, { method: 'POST', body: big, headers: { 'content-type': 'image/png' } });
  assert.equal(resized.status, 200);
  assert.equal(resized.headers.get('image-width'), '400');
  await resized.arrayBuffer();

  assert.deepEqual(readdirSync(emptyTmp), [], 'the temp directory stays empty');
  assert.equal(writeBytes(server.child.pid!) - before, 0, 'no bytes written to storage by the server process');
});

/** Root can give the server a private mount namespace; elsewhere the fresh-font-cache case cannot be staged. */
function canUnshare(): boolean {
  return spawnSync('unshare', ['--mount', '--', 'true']).status === 0;
}

test('text rendering with no font cache on the machine writes no font cache', { timeout: 60_000 }, async (t) => {
  if (!canUnshare()) return t.skip('needs a private mount namespace (root) to hide the machine font cache');
  const home = mkdtempSync(join(tmpdir(), 'pp-empty-home-'));
  // An empty tmpfs over the system font cache folder: what a fresh machine or container has.
  const fresh = await startServer(
    { HOME: home, XDG_CACHE_HOME: join(home, 'cache'), PP_WORKERS: '0' },
    { prefix: ['unshare', '--mount', '--', 'sh', '-c', 'mount -t tmpfs none /var/cache/fontconfig && exec "$0" "$@"'] },
  );
  try {
    const jpeg = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#358' } }).jpeg().toBuffer();
    const watermarked = await fetch(`${fresh.base}/watermark?text=pixelpress&width=200&height=100`, { method: 'POST', body: jpeg, headers: { 'content-type': 'image/jpeg' } });
    assert.equal(watermarked.status, 200, await watermarked.clone().text());
    await watermarked.arrayBuffer();
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60"><text x="10" y="40" font-size="30">Hello</text></svg>');
    const rendered = await fetch(`${fresh.base}/convert?type=png`, { method: 'POST', body: svg, headers: { 'content-type': 'image/svg+xml' } });
    assert.equal(rendered.status, 200, await rendered.clone().text());
    await rendered.arrayBuffer();
    // The server's own view of the folder, through its mount namespace.
    assert.deepEqual(readdirSync(`/proc/${fresh.child.pid}/root/var/cache/fontconfig`), [], 'no system font cache written');
    assert.deepEqual(readdirSync(home), [], 'no user font cache written');
  } finally {
    fresh.child.kill('SIGTERM');
    await fresh.exited;
    rmSync(home, { recursive: true, force: true });
  }
});
