/**
 * Watermark text is bounded before Pango renders it (issue 12, finding 5): dpi, font size, text length and lines are
 * capped by the parameter table, and a text that could not fit the output is refused before its full-size render.
 * Parameters libvips would fail on are 400 errors naming them, not 422 (finding 12).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { ImageError } from '../../src/core/errors.js';
import { imaginaryParams } from '../../src/core/imaginary-params.js';
import { parseParams } from '../../src/core/options.js';
import type { Source } from '../../src/core/params.js';

/** imaginary's whole vocabulary, as a route checks it. */
const parseOptions = (raw: Record<string, unknown>, source: Source) => parseParams(imaginaryParams, raw, source);
import { run } from '../../src/core/pipeline.js';
import { decode, meanColour } from '../../testkit/images.js';

function rejects(raw: Record<string, unknown>, detail: RegExp, source: 'query' | 'json' = 'query'): void {
  assert.throws(
    () => parseOptions(raw, source),
    (err: unknown) => err instanceof ImageError && err.code === 'PP_INVALID_PARAM' && detail.test(err.detail),
    JSON.stringify(raw),
  );
}

async function refused(promise: Promise<unknown>, detail: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ImageError, String(err));
    assert.equal(err.code, 'PP_INVALID_PARAM');
    assert.match(err.detail, detail);
    return true;
  });
}

const black = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#000' } }).png().toBuffer();

test('dpi is at most 1200', () => {
  assert.equal(parseOptions({ dpi: '1200' }, 'query').dpi, 1200);
  rejects({ dpi: '1201' }, /^Expected non-negative integer up to 1200 for dpi but received "1201"$/);
  rejects({ dpi: 2400 }, /for dpi but received 2400/, 'json');
});

test('the font size is a plain number from 1 to 512, in points or pixels', () => {
  for (const font of ['sans 512', 'sans bold 12', 'serif 9.5', 'sans 100px', 'sans', 'serif bold', 'sans 12 @wght=300 #liga']) {
    assert.equal(parseOptions({ font }, 'query').font, font);
  }
  rejects({ font: 'sans 513' }, /^Expected a Pango font description with a size from 1 to 512, e\.g\. "sans bold 12" for font but received "sans 513"$/);
  rejects({ font: 'sans 513px' }, /for font but received "sans 513px"/);
  rejects({ font: 'sans 0' }, /size from 1 to 512.* for font/);
  rejects({ font: 'sans 0.5' }, /size from 1 to 512.* for font/);
  // Pango reads these as sizes (through strtod): 1,000,000 points, and 16.
  rejects({ font: 'sans 1e6' }, /size is a plain number.* for font but received "sans 1e6"/);
  rejects({ font: 'sans 0x10' }, /size is a plain number.* for font/);
  rejects({ font: 'sans\u0000 12' }, /without control characters for font/);
});

test('text has no control characters, at most 1024 characters and 16 lines', () => {
  const sixteen = Array.from({ length: 16 }, (_, i) => `line ${i}`).join('\n');
  assert.equal(parseOptions({ text: sixteen }, 'query').text, sixteen);
  assert.equal(parseOptions({ text: 'a'.repeat(1024) }, 'json').text.length, 1024);
  const expected = /^Expected string of at most 1024 characters and 16 lines, without control characters other than newline for text but received /;
  rejects({ text: '\u0000' }, expected);
  for (const control of ['\u0001', '\r', '\t', '\u007f', '\u0085']) rejects({ text: `a${control}b` }, expected);
  rejects({ text: `${sixteen}\nline 16` }, expected);
  rejects({ text: 'a\u2028'.repeat(16) }, expected, 'json');
  rejects({ text: 'a'.repeat(1025) }, expected);
});

test('minampl is 0 (the default) or 0.001 to 1, what libvips can build a mask for', () => {
  for (const [raw, value] of [['0', 0], ['0.001', 0.001], ['1', 1], ['0.2', 0.2]] as const) assert.equal(parseOptions({ minampl: raw }, 'query').minampl, value);
  rejects({ minampl: '1e-300' }, /^Expected 0 or a number from 0\.001 to 1 for minampl but received "1e-300"$/);
  rejects({ minampl: 0.0009 }, /for minampl but received 0\.0009/, 'json');
});

test('a watermark within the limits is drawn, with small letters and with letters measured first', async () => {
  const plain = await black(400, 200);
  // sans 10 at 150 dpi is 21-pixel letters, rendered directly; sans 20 is 42, measured at 32 first.
  for (const font of ['sans 10', 'sans 20', 'sans 40px']) {
    const result = await run(plain, [{ operation: 'watermark', params: { text: 'pixelpress', font, opacity: 1, color: '255,255,255' } }]);
    const [r] = meanColour(await decode(result.data), 0, 0, 400, 200);
    assert.ok(r! > 2, `${font}: some pixels became light (mean ${r})`);
  }
});

test('letters taller than the output are refused before rendering, naming font and dpi', async () => {
  await refused(
    run(await black(200, 100), [{ operation: 'watermark', params: { text: 'hi', font: 'sans 40', dpi: 300 } }]),
    /^Watermark letters of font "sans 40" at dpi 300 would be 167 pixels tall, taller than the 100-pixel-high image: lower the font size or dpi$/,
  );
});

test('a text predicted larger than the output is refused before its full-size render', async () => {
  // 167-pixel letters, measured at 32: ten sentences wrap into far more lines than 1000 pixels hold.
  const started = performance.now();
  await refused(
    run(await black(1000, 1000), [{ operation: 'watermark', params: { text: 'The quick brown fox jumps over the lazy dog. '.repeat(10), font: 'sans 40', dpi: 300, textwidth: 1000 } }]),
    /^Watermark text would be about \d+x\d+ pixels, larger than the 1000x1000 image: shorten text, or lower the font size, dpi, textwidth or margin$/,
  );
  // Small letters render directly and are checked exactly.
  await refused(
    run(await black(100, 100), [{ operation: 'watermark', params: { text: 'The quick brown fox jumps over the lazy dog. '.repeat(4), textwidth: 100 } }]),
    /^Watermark text would be \d+x\d+ pixels, larger than the 100x100 image/,
  );
  // A margin counts.
  await refused(
    run(await black(400, 200), [{ operation: 'watermark', params: { text: 'pixelpress', noreplicate: true, margin: 350 } }]),
    /plus margin 350, larger than the 400x200 image/,
  );
  assert.ok(performance.now() - started < 10_000);
});

test('a text built to render gigapixels is measured small and refused at once', async () => {
  // One 500-letter word (Pango does not break it) over 263 lines: about 9,000 x 10,000 pixels at 31-pixel letters,
  // 350 MB of RGBA, which the old code rendered and then discarded for not fitting.
  const text = `${'x'.repeat(500)}${' a'.repeat(262)}`;
  const image = await black(2000, 2000);
  // Text runs in a child process: fork it first, so the time below is the measuring alone.
  await run(image, [{ operation: 'watermark', params: { text: 'warm' } }]);
  const started = performance.now();
  await refused(
    run(image, [{ operation: 'watermark', params: { text, font: 'sans 15', textwidth: 1 } }]),
    /^Watermark text would be about \d+x\d+ pixels/,
  );
  // The prediction renders 2-pixel letters: well under a second even on a busy machine.
  const ms = performance.now() - started;
  assert.ok(ms < 3_000, `refused after ${ms.toFixed(0)} ms`);
});

test('text that draws nothing is a parameter error, not an undecodable image', async () => {
  await refused(run(await black(200, 100), [{ operation: 'watermark', params: { text: '   ' } }]), /^The watermark text draws nothing at this font size and dpi/);
});
