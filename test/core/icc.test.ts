import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { embedIccInJpeg } from '../../src/core/icc.js';

test('a profile embedded in a JPEG reads back identical, and the pixels are untouched', async () => {
  const p3 = (await sharp(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).withIccProfile('p3').jpeg().toBuffer()).metadata()).icc!;
  const plain = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#3366cc' } }).jpeg().toBuffer();
  const tagged = embedIccInJpeg(plain, p3);
  assert.deepEqual((await sharp(tagged).metadata()).icc, p3);
  const raw = (jpeg: Buffer) => sharp(jpeg).keepIccProfile().raw().toBuffer();
  assert.deepEqual(await raw(tagged), await raw(plain));
});

test('a profile larger than one segment is split over several APP2 chunks', async () => {
  const big = Buffer.alloc(150_000, 7);
  const plain = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).jpeg().toBuffer();
  const tagged = embedIccInJpeg(plain, big);
  let segments = 0;
  for (let i = tagged.indexOf('ICC_PROFILE\0'); i >= 0; i = tagged.indexOf('ICC_PROFILE\0', i + 1)) segments++;
  assert.equal(segments, 3);
  assert.equal(tagged.length, plain.length + big.length + 3 * (4 + 14));
  assert.throws(() => embedIccInJpeg(Buffer.from('not a jpeg'), big), /Expected a JPEG/);
});
