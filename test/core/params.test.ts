import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageError } from '../../src/core/errors.js';
import { imaginaryParams } from '../../src/core/imaginary-params.js';
import { parseParams } from '../../src/core/options.js';
import type { Source } from '../../src/core/params.js';

/** imaginary's whole vocabulary, as a route checks it. */
const parseOptions = (raw: Record<string, unknown>, source: Source) => parseParams(imaginaryParams, raw, source);

function rejects(raw: Record<string, unknown>, message: RegExp, source: 'query' | 'json' = 'query'): void {
  assert.throws(() => parseOptions(raw, source), (err: unknown) => err instanceof ImageError && err.code === 'PP_INVALID_PARAM' && message.test(err.detail));
}

test('integers follow imaginary: abs, then round half up, from strings', () => {
  const cases: [string, number][] = [['0100', 100], ['-100', 100], ['99.02', 99], ['99.9', 100], ['1e2', 100], ['300.6', 301], ['', 0]];
  for (const [raw, expected] of cases) assert.equal(parseOptions({ width: raw }, 'query').width, expected, raw);
});

test('JSON numbers are truncated, as Go int(float64) does', () => {
  assert.equal(parseOptions({ width: 100.7 }, 'json').width, 100);
  assert.equal(parseOptions({ width: '100.7' }, 'json').width, 101);
});

test('bad numbers name the parameter and the value', () => {
  rejects({ width: 'abc' }, /^Expected non-negative integer up to 1000000 for width but received "abc"$/);
  rejects({ quality: '101' }, /for quality but received "101"/);
  rejects({ height: 'Infinity' }, /for height but received "Infinity"/);
  rejects({ width: ' 12' }, /for width/);
  rejects({ sigma: 'x' }, /for sigma but received "x"/);
});

test('booleans accept exactly Go ParseBool spellings', () => {
  for (const raw of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseOptions({ force: raw }, 'query').force, true, raw);
  for (const raw of ['0', 'f', 'F', 'FALSE', 'false', 'False', '']) assert.equal(parseOptions({ force: raw }, 'query').force, false, raw);
  for (const raw of ['yes', 'no', '1.1', '-1']) rejects({ force: raw }, new RegExp(`for force but received "${raw.replace('.', '\\.')}"`));
  assert.equal(parseOptions({ force: true }, 'json').force, true);
  rejects({ force: 1 }, /for force but received 1/, 'json');
});

test('only the first of repeated query values counts', () => {
  assert.equal(parseOptions({ width: ['300', '100'] }, 'query').width, 300);
});

test('unknown keys are ignored and presence is recorded', () => {
  const options = parseOptions({ nocrop: 'false', whatever: 'x' }, 'query');
  assert.equal(options.nocrop, false);
  assert.ok(options.defined.has('nocrop'));
  assert.ok(!options.defined.has('width'));
});

test('enumerations: case-insensitive, with aliases, and refused when unknown', () => {
  assert.equal(parseOptions({ type: 'JPG' }, 'query').type, 'jpeg');
  assert.equal(parseOptions({ type: 'auto' }, 'query').type, 'auto');
  assert.equal(parseOptions({ gravity: ' North ' }, 'query').gravity, 'north');
  assert.equal(parseOptions({ gravity: 'center' }, 'query').gravity, 'centre');
  assert.equal(parseOptions({ colorspace: 'b-w' }, 'query').colorspace, 'bw');
  rejects({ type: 'bmp' }, /for type but received "bmp"/);
  rejects({ extend: 'sideways' }, /for extend but received "sideways"/);
});

test('colours need three parts from 0 to 255 (imaginary crashed on fewer)', () => {
  assert.deepEqual(parseOptions({ background: ' 255, 0 ,10' }, 'query').background, [255, 0, 10]);
  rejects({ background: '255,0' }, /colour "R,G,B".*"255,0"/);
  rejects({ color: '256,0,0' }, /for color/);
});

test('aspect ratios must be W:H with positive parts (imaginary crashed on 0)', () => {
  assert.deepEqual(parseOptions({ aspectratio: '16:9' }, 'query').aspectratio, { width: 16, height: 9 });
  rejects({ aspectratio: '16:0' }, /for aspectratio/);
  rejects({ aspectratio: '169' }, /for aspectratio/);
});
