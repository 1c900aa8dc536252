/**
 * Micro-benchmark of the ring-blur (Pillow BLUR) kernels on one image, default 2560x1600 RGB:
 *   node --import tsx bench/ring-blur.ts [WIDTHxHEIGHTxCHANNELS] [--runs N]
 * Runs the implementations round-robin (so a noisy neighbour hurts them alike), each call making a new output as the
 * service does, checks every result against the TypeScript one, and prints per implementation the median ms,
 * ns per pixel, the speed ratio against the seed's TypeScript kernel, the main thread's busy time during a call
 * (event-loop utilisation: what the call costs the event loop in all) and, in separate rounds, the longest stretch
 * the event loop could not turn, least over the rounds: a busy machine only adds to that one (a descheduled main
 * thread stalls too, for a 4 ms scheduler tick), so the least is the better estimate of what the kernel holds.
 */
import { performance } from 'node:perf_hooks';
import { blurRowsPlain } from '../src/core/ring-blur/typescript.js';
import { native } from '../src/core/ring-blur/native.js';
import { ringBlur, ringBlurAsync, ringBlurKernel } from '../src/core/ring-blur/index.js';

const args = process.argv.slice(2);
const sizeArg = args.find((a) => /^\d+x\d+x\d+$/.test(a)) ?? '2560x1600x3';
const [width, height, channels] = sizeArg.split('x').map(Number) as [number, number, number];
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 21;

/** The seed's kernel (before this benchmark existed), kept here as the baseline: two full-size Uint16 planes. */
function seedRingBlur(src: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const out = new Uint8Array(src);
  if (width < 5 || height < 5) return out;
  const stride = width * channels;
  const h5 = new Uint16Array(src.length);
  const h3 = new Uint16Array(src.length);
  const c = channels;
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    for (let i = row + 2 * c, end = row + stride - 2 * c; i < end; i++) {
      const inner = src[i - c]! + src[i]! + src[i + c]!;
      h3[i] = inner;
      h5[i] = inner + src[i - 2 * c]! + src[i + 2 * c]!;
    }
  }
  for (let y = 2; y < height - 2; y++) {
    const row = y * stride;
    for (let i = row + 2 * c, end = row + stride - 2 * c; i < end; i++) {
      const box5 = h5[i - 2 * stride]! + h5[i - stride]! + h5[i]! + h5[i + stride]! + h5[i + 2 * stride]!;
      const box3 = h3[i - stride]! + h3[i]! + h3[i + stride]!;
      out[i] = (box5 - box3 + 8) >> 4;
    }
  }
  return out;
}

type Impl = () => Uint8Array | Promise<Uint8Array>;
const src = new Uint8Array(width * height * channels);
for (let i = 0, s = 1; i < src.length; i++) {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  src[i] = s >>> 24;
}

const impls: Record<string, Impl> = {
  'TypeScript, seed (separable planes)': () => seedRingBlur(src, width, height, channels),
  'TypeScript, plain row loop': () => {
    const out = Uint8Array.from(src);
    blurRowsPlain(src, out, width, channels, 2, height - 2);
    return out;
  },
  'TypeScript SWAR: ringBlur (sync)': () => ringBlur(src, width, height, channels),
  'TypeScript SWAR: ringBlurAsync bands': () => ringBlurAsync(src, width, height, channels, { kernel: 'typescript' }),
};
if (native) {
  const addon = native;
  impls[`native ${addon.isa}: blurSync`] = () => {
    const out = Buffer.allocUnsafe(src.length);
    addon.blurSync(src, out, width, height, channels);
    return out;
  };
  for (const parts of [1, 2]) impls[`native ${addon.isa}: ringBlurAsync, ${parts} part(s)`] = () => ringBlurAsync(src, width, height, channels, { parts });
} else {
  console.error(`(native addon not available: ${ringBlurKernel})`);
}

/** Times one call; with `watch`, a setImmediate chain also measures the longest stretch the event loop was not free. */
async function measure(impl: Impl, watch: boolean): Promise<{ ms: number; busyMs: number; blockedMs: number; out: Uint8Array }> {
  await new Promise((resolve) => setImmediate(resolve));
  let last = performance.now();
  let longest = 0;
  let running = watch;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  if (watch) setImmediate(tick);
  const elu = performance.eventLoopUtilization();
  const start = performance.now();
  last = start;
  const out = await impl();
  const ms = performance.now() - start;
  const busyMs = performance.eventLoopUtilization(elu).active;
  running = false;
  longest = Math.max(longest, performance.now() - last); // a synchronous call holds the loop for all of it
  return { ms, busyMs, blockedMs: Math.min(longest, ms), out };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const expected = Buffer.from(ringBlur(src, width, height, channels));
const names = Object.keys(impls);
const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const busy: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const blocked: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
// Timed rounds run alone: the watcher's setImmediate chain keeps a core busy, which would slow threadpool jobs.
for (let round = -2; round < runs; round++) {
  for (const name of names) {
    const { ms, busyMs, out } = await measure(impls[name]!, false);
    if (round === -2 && !Buffer.from(out.buffer, out.byteOffset, out.byteLength).equals(expected)) throw new Error(`${name} is not exact`);
    if (round >= 0) {
      times[name]!.push(ms);
      busy[name]!.push(busyMs);
    }
  }
}
for (let round = 0; round < Math.max(3, runs >> 2); round++) {
  for (const name of names) blocked[name]!.push((await measure(impls[name]!, true)).blockedMs);
}

const pixels = width * height;
const baseline = median(times[names[0]!]!);
console.log(`ring blur ${width}x${height}x${channels}, median of ${runs} runs each (2 warm-up), node ${process.version}; async kernel: ${ringBlurKernel}`);
console.log(`${'implementation'.padEnd(44)} ${'ms'.padStart(8)} ${'ns/pixel'.padStart(9)} ${'vs seed'.padStart(8)} ${'loop busy ms'.padStart(13)} ${'longest stall ms'.padStart(17)}`);
for (const name of names) {
  const ms = median(times[name]!);
  console.log(`${name.padEnd(44)} ${ms.toFixed(2).padStart(8)} ${((ms * 1e6) / pixels).toFixed(2).padStart(9)} ${`${(baseline / ms).toFixed(1)}x`.padStart(8)} ${median(busy[name]!).toFixed(2).padStart(13)} ${Math.min(...blocked[name]!).toFixed(2).padStart(17)}`);
}
