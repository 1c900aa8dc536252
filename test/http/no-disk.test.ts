/**
 * Nothing touches disk: a 30 MB upload through a real socket, with the server's temp directory pointed at an
 * empty folder, leaves that folder empty and the process's storage writes (/proc/<pid>/io write_bytes) at zero.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';

let server: ChildProcess;
let base: string;
let emptyTmp: string;

function writeBytes(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return Number(/^write_bytes: (\d+)$/m.exec(io)![1]);
}

before(async () => {
  emptyTmp = mkdtempSync(join(tmpdir(), 'pp-empty-tmp-'));
  server = spawn(process.execPath, ['--import', 'tsx', 'src/http/server.ts'], {
    env: { ...process.env, TMPDIR: emptyTmp, TMP: emptyTmp, TEMP: emptyTmp, TSX_DISABLE_CACHE: '1', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  base = await new Promise<string>((resolve, reject) => {
    let output = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    server.on('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
  server.stdout!.resume();
});

after(() => {
  server.kill('SIGTERM');
  rmSync(emptyTmp, { recursive: true, force: true });
});

test('a 30 MB upload, multipart and raw, writes nothing to disk', { timeout: 120_000 }, async () => {
  // Noise does not compress: 3200x3200 RGB noise is a PNG of about 30 MB.
  const big = await sharp({ create: { width: 3200, height: 3200, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
    .png({ compressionLevel: 1 })
    .toBuffer();
  assert.ok(big.length > 30_000_000, `upload is ${big.length} bytes`);

  const before = writeBytes(server.pid!);
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
  assert.equal(writeBytes(server.pid!) - before, 0, 'no bytes written to storage by the server process');
});
