/**
 * Pillow's filters, pixelpress against Pillow itself on the same 4 MP RGB image in the same run: CPU per filter (the
 * process's utime+stime over the repetitions, decode and encode left out on both sides). pixelpress runs its kernels
 * through run() on raw input, so the figure is the filter plus a raw read and write; Pillow's is im.filter() alone.
 *
 *   node --import tsx bench/filters.ts [--reps 3] [--photo path/to.jpg]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { run } from '../src/index.js';
import { photo } from '../testkit/images.js';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, photo: { type: 'string' } } });
const reps = Number(values.reps);
const source = values.photo ? readFileSync(values.photo) : await photo(2560, 1600, 'png');
// Both sides get the same lossless RGB image: PNG in, PNG out (encoding left out of both timings below).
const input = await sharp(source).removeAlpha().resize(2560, 1600, { fit: 'cover' }).png({ compressionLevel: 1 }).toBuffer();

const filters: [query: Record<string, string>, python: string][] = [
  [{ name: 'blur' }, 'ImageFilter.BLUR'],
  [{ name: 'contour' }, 'ImageFilter.CONTOUR'],
  [{ name: 'detail' }, 'ImageFilter.DETAIL'],
  [{ name: 'edge_enhance' }, 'ImageFilter.EDGE_ENHANCE'],
  [{ name: 'edge_enhance_more' }, 'ImageFilter.EDGE_ENHANCE_MORE'],
  [{ name: 'emboss' }, 'ImageFilter.EMBOSS'],
  [{ name: 'find_edges' }, 'ImageFilter.FIND_EDGES'],
  [{ name: 'sharpen' }, 'ImageFilter.SHARPEN'],
  [{ name: 'smooth' }, 'ImageFilter.SMOOTH'],
  [{ name: 'smooth_more' }, 'ImageFilter.SMOOTH_MORE'],
  [{ name: 'gaussianblur', radius: '2' }, 'ImageFilter.GaussianBlur(2)'],
  [{ name: 'boxblur', radius: '2' }, 'ImageFilter.BoxBlur(2)'],
  [{ name: 'unsharpmask' }, 'ImageFilter.UnsharpMask()'],
  [{ name: 'median', size: '3' }, 'ImageFilter.MedianFilter(3)'],
  [{ name: 'min', size: '3' }, 'ImageFilter.MinFilter(3)'],
  [{ name: 'max', size: '3' }, 'ImageFilter.MaxFilter(3)'],
  [{ name: 'mode', size: '3' }, 'ImageFilter.ModeFilter(3)'],
];

const pythonTimer = `
import io, sys, time
from PIL import Image, ImageFilter
im = Image.open(io.BytesIO(sys.stdin.buffer.read())); im.load()
f = eval(sys.argv[1], {'ImageFilter': ImageFilter}); reps = int(sys.argv[2])
im.filter(f)
t = time.process_time()
for _ in range(reps): im.filter(f)
print((time.process_time() - t) / reps * 1000)
`;

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** CPU of run() on already-raw pixels minus that of a step that only copies them: the filter's own cost. */
const raw = await sharp(input).raw().toBuffer({ resolveWithObject: true });
const rawInput = await sharp(raw.data, { raw: raw.info }).tiff({ compression: 'none' }).toBuffer();
async function pixelpress(params: Record<string, string>): Promise<number> {
  const steps = [{ operation: 'filter', params: { ...params, type: 'tiff', tiffcompression: 'none' } }];
  await run(rawInput, steps, { source: 'query' });
  const start = cpuMs();
  for (let i = 0; i < reps; i++) await run(rawInput, steps, { source: 'query' });
  return (cpuMs() - start) / reps;
}
const baseline = await (async () => {
  const steps = [{ operation: 'convert', params: { type: 'tiff', tiffcompression: 'none' } }];
  await run(rawInput, steps);
  const start = cpuMs();
  for (let i = 0; i < reps; i++) await run(rawInput, steps);
  return (cpuMs() - start) / reps;
})();

console.log(`# Filters on a 2560x1600 RGB image, CPU ms per filter (${reps} reps; pixelpress: run() minus a plain convert, ${baseline.toFixed(0)} ms)\n`);
console.log('| filter | pixelpress | Pillow 9.4 | Pillow / pixelpress |');
console.log('|---|---:|---:|---:|');
for (const [query, python] of filters) {
  const ours = Math.max(0.1, (await pixelpress(query)) - baseline);
  const theirs = Number(execFileSync('/usr/bin/python3', ['-c', pythonTimer, python, String(reps)], { input, maxBuffer: 1 << 20 }).toString());
  console.log(`| ${python.replace('ImageFilter.', '')} | ${ours.toFixed(0)} | ${theirs.toFixed(0)} | ${(theirs / ours).toFixed(2)}x |`);
}
