import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ringBlur } from '../../src/core/ring-blur.js';
import { referenceRingBlur } from '../helpers/images.js';

function random(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed;
  for (let i = 0; i < length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

test('matches the output of Pillow 9.4 ImageFilter.BLUR on a known 9x7 grey image', () => {
  // Input and output recorded from Debian's python3-pil: Image.new('L', (9, 7)) filled from random.seed(1).
  const input = [
    68, 32, 130, 60, 253, 230, 241, 194, 107, 48, 249, 14, 199, 221, 1, 228, 136, 117, 52, 162, 15, 11, 13, 4, 195, 110, 216,
    14, 113, 224, 253, 119, 176, 118, 112, 235, 148, 11, 213, 51, 95, 151, 61, 170, 216, 97, 155, 145, 255, 201, 17, 245, 124, 206,
    212, 88, 187, 191, 44, 224, 55, 83, 201,
  ];
  const pillow = [
    68, 32, 130, 60, 253, 230, 241, 194, 107, 48, 249, 14, 199, 221, 1, 228, 136, 117, 52, 162, 96, 121, 142, 145, 165, 110, 216,
    14, 113, 127, 130, 147, 146, 149, 112, 235, 148, 11, 103, 98, 122, 118, 139, 170, 216, 97, 155, 145, 255, 201, 17, 245, 124, 206,
    212, 88, 187, 191, 44, 224, 55, 83, 201,
  ];
  assert.deepEqual([...ringBlur(Uint8Array.from(input), 9, 7, 1)], pillow);
});

for (const [width, height, channels] of [[37, 23, 3], [64, 5, 1], [5, 64, 4], [4, 9, 3], [1, 1, 3], [101, 77, 2]] as const) {
  test(`is bit-exact with the direct 5x5 reference on ${width}x${height}x${channels}`, () => {
    const data = random(width * height * channels, width * 31 + height);
    const expected = referenceRingBlur({ data, width, height, channels });
    const actual = ringBlur(data, width, height, channels);
    assert.deepEqual(Buffer.from(actual), Buffer.from(expected.data));
  });
}

test('leaves the input untouched', () => {
  const data = random(20 * 20 * 3, 7);
  const copy = Uint8Array.from(data);
  ringBlur(data, 20, 20, 3);
  assert.deepEqual(data, copy);
});
