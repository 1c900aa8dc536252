import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageError } from '../../src/core/errors.js';
import { fitBox, planResize, rightAngle, type ResizeIntent } from '../../src/core/geometry.js';
import { defaultLimits } from '../../src/core/limits.js';

const base: ResizeIntent = { width: 0, height: 0, crop: false, embed: false, enlarge: false, force: false, rotate: 0, gravity: 'centre', zoom: 0 };
const out = (w: number, h: number, intent: Partial<ResizeIntent>) => planResize(w, h, { ...base, ...intent }, defaultLimits).output;

// Sizes below are the ones imaginary answered when run (marked [O] in our imaginary reference).
test('resize with both sides pads to exactly that box', () => {
  assert.deepEqual(out(1920, 1080, { width: 300, height: 200, embed: true }), { width: 300, height: 200 });
  const plan = planResize(1920, 1080, { ...base, width: 300, height: 200, embed: true }, defaultLimits);
  assert.deepEqual(plan.scale, { width: 300, height: 169 });
  assert.deepEqual(plan.finish, { kind: 'embed', left: 0, top: 15, width: 300, height: 200 });
});

test('resize never enlarges when both target sides exceed the input', () => {
  assert.deepEqual(out(1920, 1080, { width: 3000, embed: true }), { width: 1920, height: 1080 });
});

test('fit computes the aspect box and does not enlarge', () => {
  assert.deepEqual(fitBox(550, 740, 256, 256), { width: 190, height: 256 });
  assert.deepEqual(out(550, 740, { ...fitBox(550, 740, 256, 256), embed: true }), { width: 190, height: 256 });
  assert.deepEqual(out(200, 100, { ...fitBox(200, 100, 256, 256), embed: true }), { width: 200, height: 100 });
});

test('crop with width only keeps the input height and does not scale', () => {
  const plan = planResize(640, 400, { ...base, width: 100, crop: true }, defaultLimits);
  assert.equal(plan.scale, undefined);
  assert.deepEqual(plan.finish, { kind: 'extract', left: 270, top: 0, width: 100, height: 400 });
});

test('crop gravity moves the window', () => {
  const finish = (gravity: ResizeIntent['gravity']) => planResize(400, 100, { ...base, width: 100, height: 100, crop: true, gravity }, defaultLimits).finish;
  assert.deepEqual(finish('west'), { kind: 'extract', left: 0, top: 0, width: 100, height: 100 });
  assert.deepEqual(finish('east'), { kind: 'extract', left: 300, top: 0, width: 100, height: 100 });
  assert.deepEqual(finish('centre'), { kind: 'extract', left: 150, top: 0, width: 100, height: 100 });
});

test('thumbnail (force) stretches to exactly the box', () => {
  assert.deepEqual(out(1920, 1080, { width: 100, height: 100, force: true }), { width: 100, height: 100 });
});

test('zoom multiplies by factor+1', () => {
  assert.deepEqual(out(550, 740, { zoom: 1 }), { width: 1100, height: 1480 });
});

test('aspectratio uses integer arithmetic like imaginary', () => {
  assert.deepEqual(out(1920, 1080, { width: 100, aspectratio: { width: 16, height: 9 } }), { width: 100, height: 54 });
  assert.deepEqual(out(1920, 1080, { height: 100, aspectratio: { width: 16, height: 9 } }), { width: 176, height: 100 });
});

test('rotation angles round down to a multiple of 90, at most 270', () => {
  assert.deepEqual([45, 90, 180, 269, 270, 360, 720].map(rightAngle), [0, 90, 180, 180, 270, 270, 270]);
});

test('an area outside the image is a parameter error naming it', () => {
  assert.throws(
    () => planResize(100, 100, { ...base, area: { top: 50, left: 50, width: 80, height: 10 } }, defaultLimits),
    (err: unknown) => err instanceof ImageError && err.code === 'PP_INVALID_PARAM' && /inside the 100x100 image.*left=50 top=50 areawidth=80/.test(err.detail),
  );
});

test('outputs over the limits are refused before any pixel work', () => {
  assert.throws(
    () => planResize(10_000, 10_000, { ...base, zoom: 3 }, defaultLimits),
    (err: unknown) => err instanceof ImageError && err.code === 'PP_OUTPUT_TOO_LARGE' && /40000x40000/.test(err.detail),
  );
});
