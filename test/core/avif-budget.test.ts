/**
 * AVIF cannot starve the service (issue 11): type=auto writes WebP instead of AVIF above limits.maxAutoAvifPixels of
 * output, an explicit type=avif is still honoured, and AVIF encodes run in their own niced child processes.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import sharp from 'sharp';
import { defaultLimits } from '../../src/core/limits.js';
import { run, type Step } from '../../src/core/pipeline.js';
import { decode, photo, psnr } from '../../testkit/images.js';

const input = await photo(640, 480);
const toAvif = { negotiate: () => 'avif' as const };
const resize = (width: number, type: string): Step[] => [{ operation: 'resize', params: { width, type } }];

test('type=auto over the pixel budget answers WebP, with the same picture as AVIF would carry', async () => {
  // 300x225 = 67,500 output pixels: over a 50,000 budget, under the default.
  const limits = { maxAutoAvifPixels: 50_000 };
  const result = await run(input, resize(300, 'auto'), { ...toAvif, limits });
  assert.deepEqual([result.type, result.mime, result.negotiated, result.width, result.height], ['webp', 'image/webp', true, 300, 225]);
  assert.equal((await sharp(result.data).metadata()).format, 'webp');
  const reference = await decode(await sharp(input).resize(300).png().toBuffer());
  assert.ok(psnr(await decode(result.data), reference) >= 30);
});

test('the budget counts output pixels: the same upload resized under it still gets AVIF', async () => {
  // 200x150 = 30,000 output pixels from a 307,200-pixel upload.
  const result = await run(input, resize(200, 'auto'), { ...toAvif, limits: { maxAutoAvifPixels: 50_000 } });
  assert.deepEqual([result.type, result.mime, result.width], ['avif', 'image/avif', 200]);
  assert.equal((await sharp(result.data).metadata()).compression, 'av1');
});

test('an explicit type=avif is honoured over the budget', async () => {
  const result = await run(input, resize(300, 'avif'), { limits: { maxAutoAvifPixels: 50_000 } });
  assert.deepEqual([result.type, result.negotiated], ['avif', false]);
});

test('the default budget lets ordinary web images through as AVIF', () => {
  assert.ok(defaultLimits.maxAutoAvifPixels >= 1920 * 1080 && defaultLimits.maxAutoAvifPixels <= 8_000_000);
});

/** Nice values of this process's children that the AVIF pool started (PP_ISOLATED_NICE in their environment). */
function avifChildNices(): number[] {
  const pids = readdirSync('/proc/self/task').flatMap((task) => readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
  return pids
    .filter((pid) => readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').some((entry) => entry.startsWith('PP_ISOLATED_NICE=')))
    .map((pid) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
}

test('AVIF encodes run in their own child at a lower CPU priority', { skip: process.platform !== 'linux' }, async () => {
  await run(input, resize(100, 'avif'));
  const nices = avifChildNices();
  assert.equal(nices.length, 1, 'one AVIF child per process');
  assert.ok(nices[0]! >= 10, `nice ${nices[0]}`);
  // Other isolated work (GIF) does not go to the niced child.
  await run(input, resize(100, 'gif'));
  assert.equal(avifChildNices().length, 1);
});
