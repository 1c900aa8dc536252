/**
 * The WebAssembly memory cap of a decoder worker, driven in this thread: worker.ts' decode() is called directly with a
 * budget too small for the image, then with enough. The patch it installs applies to whichever thread imports it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { valueSymbol } from 'piscina';
import { setWasmMemoryCap } from '../../src/core/decoders/memory-cap.js';
import type { DecodeTask } from '../../src/core/decoders/types.js';
import decode from '../../src/core/decoders/worker.js';
import { photo } from '../../testkit/images.js';
import { heifEncode, missingTools } from './tools.js';

const skip = missingTools('heifEnc');

test('a grow past the cap is refused, and only past it', () => {
  setWasmMemoryCap(4 * 65_536);
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 100 });
    assert.equal(memory.grow(3), 1, 'up to the cap: allowed');
    assert.throws(() => memory.grow(1), /past the cap/);
    assert.equal(memory.buffer.byteLength, 4 * 65_536);
  } finally {
    setWasmMemoryCap(Number.POSITIVE_INFINITY);
  }
});

test('a HEIC decode over its memory budget is refused with a 4xx code, and the next decode gets a fresh codec', { skip }, async () => {
  const heic = await heifEncode(await photo(2048, 1536, 'png'), { quality: 50 });
  const task = (wasmMemoryBytes: number): DecodeTask => ({
    format: 'heic',
    data: heic,
    page: 1,
    targetWidth: undefined,
    targetHeight: undefined,
    targetFit: 'inside',
    maxPixels: 50_000_000,
    maxPages: 1000,
    wasmMemoryBytes,
    infoOnly: false,
  });
  try {
    // libheif starts with 16.25 MB of memory; decoding 2048x1536 (9 MB of RGB alone) needs more.
    const refused = await decode(task(16.5 * 2 ** 20));
    assert.deepEqual(refused, { ok: false, code: 'PP_TOO_MANY_PIXELS', detail: 'Decoding the image needs more memory than the decoder limit allows' });
    // A success comes wrapped for piscina to transfer its pixels; the reply is its value.
    const decoded = (await decode(task(512 * 2 ** 20))) as unknown as Record<symbol, { ok: boolean; image?: { width: number } }>;
    assert.equal(decoded[valueSymbol]?.image?.width, 2048, 'decoded after the refusal, by a fresh codec');
  } finally {
    setWasmMemoryCap(Number.POSITIVE_INFINITY);
  }
});
