import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { ringBlur, ringBlurAsync, ringBlurInPlaceAsync, ringBlurKernel } from '../../src/core/ring-blur/index.js';
import { addonPath, native, nativeUnavailable } from '../../src/core/ring-blur/native.js';
import { blurRows, blurRowsPlain } from '../../src/core/ring-blur/typescript.js';
import { referenceRingBlur } from '../../testkit/images.js';

function random(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed;
  for (let i = 0; i < length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

type Kernel = (src: Uint8Array, width: number, height: number, channels: number) => Uint8Array | Promise<Uint8Array>;

/** An output for the low-level kernels: filled with 0xa5 so that a byte they forget shows, bytes past the image copied. */
function outputFor(src: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const out = new Uint8Array(src.length).fill(0xa5);
  out.set(src.subarray(width * height * channels), width * height * channels);
  return out;
}

/** Every implementation, each returning a new array for the whole image. */
const kernels: Record<string, Kernel> = {
  'ringBlur (TypeScript SWAR)': ringBlur,
  'TypeScript plain loop': (src, width, height, channels) => {
    const out = Uint8Array.from(src); // blurRowsPlain writes only the interior
    if (width >= 5 && height >= 5) blurRowsPlain(src, out, width, channels, 2, height - 2);
    return out;
  },
  'TypeScript in bands of 1, 2, 3, 5 and 8 rows': (src, width, height, channels) => {
    const out = outputFor(src, width, height, channels);
    const sizes = [1, 2, 3, 5, 8];
    for (let y = 0, k = 0; y < height; y += sizes[k++ % sizes.length]!) {
      blurRows(src, out, width, height, channels, y, Math.min(height, y + sizes[k % sizes.length]!));
    }
    return out;
  },
  'ringBlurAsync (TypeScript bands)': (src, width, height, channels) => ringBlurAsync(src, width, height, channels, { kernel: 'typescript' }),
  [`ringBlurAsync (${ringBlurKernel})`]: (src, width, height, channels) => ringBlurAsync(src, width, height, channels),
  // In place on a copy, so the shared input stays as it was for the other kernels.
  'ringBlurInPlaceAsync': (src, width, height, channels) => ringBlurInPlaceAsync(Uint8Array.from(src), width, height, channels),
};
if (native) {
  const addon = native;
  kernels['native blurSync'] = (src, width, height, channels) => {
    const out = outputFor(src, width, height, channels);
    addon.blurSync(src, out, width, height, channels);
    return out;
  };
  for (const parts of [1, 2, 3, 16]) {
    kernels[`native blur on the threadpool in ${parts} part(s)`] = async (src, width, height, channels) => {
      const out = outputFor(src, width, height, channels);
      await addon.blur(src, out, width, height, channels, parts);
      return out;
    };
  }
}

test('the native addon is used when it was built', (t) => {
  if (!native) {
    // Not built (no compiler, --ignore-scripts, PP_RING_BLUR=ts): fine, but one that exists must load.
    assert.ok(!existsSync(addonPath) || process.env.PP_RING_BLUR === 'ts', `addon exists but ${nativeUnavailable}`);
    // As the filter kernel's parity test: npm ci builds the addon wherever there is a compiler, and CI must test it.
    if (process.env.CI && process.env.PP_RING_BLUR !== 'ts') assert.fail(`the native addon is not built: ${nativeUnavailable}`);
    t.skip(`native addon ${nativeUnavailable}`);
    return;
  }
  assert.match(ringBlurKernel, /^native \((avx2|sse2|generic), threadpool\)$/);
});

for (const [name, kernel] of Object.entries(kernels)) {
  test(`${name}: matches the output of Pillow 9.4 ImageFilter.BLUR on a known 9x7 grey image`, async () => {
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
    assert.deepEqual([...(await kernel(Uint8Array.from(input), 9, 7, 1))], pillow);
  });

  test(`${name}: bit-exact with the direct 5x5 reference on small, odd and degenerate sizes, 1 to 4 channels`, async () => {
    const sides = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 16, 17, 33];
    for (const channels of [1, 2, 3, 4]) {
      for (const width of sides) {
        for (const height of sides) {
          const data = random(width * height * channels, width * 131 + height * 17 + channels);
          const expected = referenceRingBlur({ data, width, height, channels }).data;
          const actual = await kernel(data, width, height, channels);
          assert.ok(Buffer.from(actual).equals(Buffer.from(expected)), `${width}x${height}x${channels}`);
        }
      }
    }
  });

  test(`${name}: bit-exact with the direct 5x5 reference on larger images`, async () => {
    for (const [width, height, channels] of [[37, 23, 3], [64, 5, 1], [5, 64, 4], [101, 77, 2], [640, 3, 3], [3, 480, 4], [257, 131, 3], [1283, 411, 3], [999, 217, 1], [513, 389, 4], [5, 5, 5], [23, 19, 7]] as const) {
      const data = random(width * height * channels, width * 31 + height);
      const expected = referenceRingBlur({ data, width, height, channels }).data;
      const actual = await kernel(data, width, height, channels);
      assert.ok(Buffer.from(actual).equals(Buffer.from(expected)), `${width}x${height}x${channels}`);
    }
  });

  test(`${name}: saturated, black and half-way (rounding) images`, async () => {
    const width = 41;
    const height = 29;
    for (const channels of [1, 3, 4]) {
      const length = width * height * channels;
      // All 255 gives the largest sums (16*255+8 per lane); a 0/8 checkerboard rounds exactly half-way up or down.
      const images = [new Uint8Array(length).fill(255), new Uint8Array(length), Uint8Array.from({ length }, (_, i) => ((i ^ (i >> 3)) & 1 ? 8 : 0)), Uint8Array.from({ length }, (_, i) => (i % 7 === 0 ? 255 : 1))];
      for (const data of images) {
        const expected = referenceRingBlur({ data, width, height, channels }).data;
        assert.ok(Buffer.from(await kernel(data, width, height, channels)).equals(Buffer.from(expected)), `${channels} channels`);
      }
    }
  });

  test(`${name}: reads a view at an odd offset and leaves it untouched; extra bytes at the end are copied`, async () => {
    const width = 47;
    const height = 31;
    const channels = 3;
    const length = width * height * channels;
    const backing = random(length + 20, 99);
    const view = backing.subarray(1, 1 + length + 7); // 7 bytes past the image
    const before = Uint8Array.from(backing);
    const expected = referenceRingBlur({ data: Uint8Array.from(view.subarray(0, length)), width, height, channels }).data;
    const actual = await kernel(view, width, height, channels);
    assert.deepEqual(backing, before);
    assert.equal(actual.length, view.length);
    assert.ok(Buffer.from(actual.subarray(0, length)).equals(Buffer.from(expected)));
    assert.deepEqual([...actual.subarray(length)], [...view.subarray(length)]);
  });
}

test('every implementation agrees on a 2560x1600 RGB image and a 1921x1081 RGBA one', async () => {
  for (const [width, height, channels] of [[2560, 1600, 3], [1921, 1081, 4]] as const) {
    const data = random(width * height * channels, width + height);
    const expected = Buffer.from(ringBlur(data, width, height, channels));
    // Spot-check the TypeScript result itself against the direct reference on a crop of full-width rows.
    const crop = data.subarray(0, width * 40 * channels);
    const cropExpected = referenceRingBlur({ data: crop, width, height: 40, channels }).data;
    assert.ok(expected.subarray(0, width * 38 * channels).equals(Buffer.from(cropExpected).subarray(0, width * 38 * channels)));
    for (const [name, kernel] of Object.entries(kernels)) {
      if (name === 'TypeScript in bands of 1, 2, 3, 5 and 8 rows' || name === 'TypeScript plain loop') continue; // slow, and covered above
      assert.ok(Buffer.from(await kernel(data, width, height, channels)).equals(expected), `${name} on ${width}x${height}x${channels}`);
    }
  }
});

test('many concurrent ringBlurAsync calls each get their own exact result', async () => {
  const jobs = Array.from({ length: 12 }, (_, k) => {
    const [width, height, channels] = [200 + 17 * k, 150 + 11 * k, 1 + (k % 4)];
    return { width, height, channels, data: random(width * height * channels, k) };
  });
  const results = await Promise.all(jobs.map((j, k) => ringBlurAsync(j.data, j.width, j.height, j.channels, k % 3 === 0 ? { kernel: 'typescript' } : { parts: 1 + (k % 3) })));
  for (const [k, j] of jobs.entries()) {
    assert.ok(Buffer.from(results[k]!).equals(Buffer.from(ringBlur(j.data, j.width, j.height, j.channels))), `job ${k}`);
  }
});

test('the TypeScript fallback of ringBlurAsync gives the event loop turns while it works', async () => {
  const [width, height, channels] = [1500, 1000, 3]; // 4.5 MB: about 9 bands
  const data = random(width * height * channels, 5);
  let turns = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const result = await ringBlurAsync(data, width, height, channels, { kernel: 'typescript' });
  running = false;
  assert.ok(turns >= 5, `only ${turns} event-loop turns during the blur`);
  assert.ok(Buffer.from(result).equals(Buffer.from(ringBlur(data, width, height, channels))));
});

test('ringBlurInPlaceAsync writes over its own buffer and answers with it, also from a view at an odd offset', async () => {
  const [width, height, channels] = [37, 23, 3];
  const backing = random(1 + width * height * channels + 5, 9);
  const view = backing.subarray(1, 1 + width * height * channels);
  const before = Uint8Array.from(backing);
  const expected = ringBlur(view, width, height, channels);
  const result = await ringBlurInPlaceAsync(view, width, height, channels);
  assert.equal(result, view);
  assert.ok(Buffer.from(view).equals(Buffer.from(expected)));
  // The bytes around the view are not touched.
  assert.equal(backing[0], before[0]);
  assert.ok(Buffer.from(backing.subarray(1 + width * height * channels)).equals(Buffer.from(before.subarray(1 + width * height * channels))));
});

test('bad arguments are refused, not read out of bounds', async () => {
  const data = new Uint8Array(10 * 10 * 3);
  assert.throws(() => ringBlur(data, 10, 11, 3), RangeError);
  assert.throws(() => ringBlur(data, 10.5, 10, 3), RangeError);
  assert.throws(() => ringBlur(data, 0, 10, 3), RangeError);
  await assert.rejects(ringBlurAsync(data, 10, 10, 4), RangeError);
  await assert.rejects(ringBlurAsync(data, -1, 10, 3), RangeError);
  if (native) {
    const out = new Uint8Array(data.length);
    assert.throws(() => native!.blurSync(data, out, 10, 11, 3), TypeError);
    assert.throws(() => native!.blurSync(data, new Uint8Array(5), 10, 10, 3), TypeError);
    assert.throws(() => native!.blurSync(data, data, 10, 10, 3), /overlap/);
    assert.throws(() => native!.blurSync(data, data.subarray(1), 5, 5, 3), /overlap/);
    assert.throws(() => native!.blurSync(new Uint16Array(300) as unknown as Uint8Array, out, 10, 10, 3), TypeError);
    assert.throws(() => native!.blurSync(data, out, 10, 10, Number.NaN), TypeError);
    assert.throws(() => native!.blur(data, out, 10, 10, 3, 0), TypeError);
    assert.throws(() => native!.blur(data, out, 10, 10, 3, 17), TypeError);
    assert.throws(() => native!.blurInPlace(data, 10, 11, 3), TypeError);
    assert.throws(() => native!.blurInPlace(new Uint16Array(300) as unknown as Uint8Array, 10, 10, 3), TypeError);
    assert.throws(() => native!.blurInPlace(data, 10, 10, 0), TypeError);
  }
  await assert.rejects(ringBlurInPlaceAsync(data, 10, 11, 3), RangeError);
});
