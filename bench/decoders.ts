/**
 * Measures the new-format decoders on the size Nextcloud asks for (a 256-pixel box): a 12 MP HEIC decoded whole
 * against its embedded 320x240 thumbnail, and a PDF page rendered straight at preview size. Each scenario runs in its
 * own process, so its peak RSS is its own. Run: node --import tsx bench/decoders.ts (about a minute, most of it
 * heif-enc making the 12 MP input, which is kept in the temporary directory for the next run).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { closeDecoderPool, decodeToRaw } from '../src/core/decoders/index.js';
import { defaultLimits } from '../src/core/limits.js';
import { photo } from '../testkit/images.js';
import { artContent, buildPdf, heifEncode } from '../test/decoders/tools.js';

const heicPath = join(tmpdir(), 'pp-bench-12mp.heic');
const pdfPath = join(tmpdir(), 'pp-bench-page.pdf');
const runs = 5;

async function scenario(name: string): Promise<void> {
  const limits = { ...defaultLimits };
  const input = readFileSync(name.startsWith('heic') ? heicPath : pdfPath);
  const box = name === 'heic-full' ? {} : { targetWidth: 256, targetHeight: 256 };
  const once = async () => {
    const raw = await decodeToRaw(input, { limits, ...box });
    const out = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } }).resize(256, 256, { fit: 'inside' });
    await (name === 'pdf' ? out.png() : out.jpeg()).toBuffer();
    return raw;
  };
  const first = await once(); // loads and compiles the codec in the worker: reported apart
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await once();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  await closeDecoderPool();
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  console.log(JSON.stringify({ name, decoded: `${first.width}x${first.height} ${first.source}`, wallMs: Math.round(median(wall)), cpuMs: Math.round(median(cpu)), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

async function main(): Promise<void> {
  if (process.argv[2]) return scenario(process.argv[2]);
  if (!existsSync(heicPath)) {
    console.error('making the 12 MP HEIC with heif-enc (x265), once...');
    writeFileSync(heicPath, await heifEncode(await photo(4032, 3024, 'png'), { quality: 80, thumb: 320 }));
  }
  writeFileSync(pdfPath, buildPdf([{ content: artContent() }]));
  const rows = ['heic-full', 'heic-thumb', 'pdf'].map((name) =>
    JSON.parse(execFileSync(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname, name], { encoding: 'utf8' })),
  );
  console.log('| scenario | decoded | wall ms (median of 5) | CPU ms, all threads | peak RSS MB |\n|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.decoded} | ${r.wallMs} | ${r.cpuMs} | ${r.peakRssMb} |`);
}

await main();
