/**
 * Animated GIF and WebP over real HTTP: every frame, its delay and the loop count survive each operation, checked by
 * decoding every frame of the answer with ImageMagick (an independent decoder) and comparing each one by PSNR against
 * that frame alone put through sharp's own operation (the reference). Frames differ in colour and in where their shapes
 * sit, so a frame swapped, reversed, dropped or bled into its neighbour fails.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp, { type Sharp } from 'sharp';
import { psnr, type Raw } from '../../testkit/images.js';
import { assertProblem, postFile, postRaw, testApp } from '../../testkit/http.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const hasPillow = await run(PYTHON, ['-c', 'import PIL']).then(() => true, () => false);
// npm test's pretest installs python3-pil; without it (not root), say so, and fail in CI where it must be there.
const skipPillow = hasPillow ? false : 'Debian python3-pil is missing (npm test installs it when run as root)';
if (!hasPillow && process.env.CI) throw new Error('python3-pil is required in CI');

const W = 48;
const H = 32;
/** Centiseconds each frame shows (GIF's unit; ImageMagick's -delay), all different so a reorder shows. */
const TICKS = [10, 20, 30, 40];
const LOOP = 3;
const backgrounds = [[220, 40, 40], [40, 200, 60], [40, 60, 220], [230, 200, 40]] as const;

/** Frame k: its own background, a dark block that moves right with k, and a white dot top right (so mirrors show). */
function frame(k: number): Raw {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const block = x >= 4 + 8 * k && x < 16 + 8 * k && y >= 6 && y < 20;
      const dot = x >= 40 && x < 44 && y >= 2 && y < 6;
      const colour = dot ? [250, 250, 250] : block ? [20, 20, 20] : backgrounds[k]!;
      data.set(colour, (y * W + x) * 3);
    }
  }
  return { data, width: W, height: H, channels: 3 };
}
const frames = TICKS.map((_, k) => frame(k));

const toSharp = (raw: Raw): Sharp => sharp(Buffer.from(raw.data), { raw: { width: raw.width, height: raw.height, channels: raw.channels as 3 } });

async function rawOf(pipeline: Sharp): Promise<Raw> {
  const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

let dir: string;
let app: FastifyInstance;
let gif: Buffer;
let webp: Buffer;

before(async () => {
  app = await testApp();
  dir = await mkdtemp(join(tmpdir(), 'pp-animation-'));
  // The GIF is ImageMagick's, from one PNG per frame, each with its own delay.
  const args: string[] = ['-loop', String(LOOP)];
  for (const [k, raw] of frames.entries()) {
    const file = join(dir, `in-${k}.png`);
    await toSharp(raw).png().toFile(file);
    args.push('-delay', String(TICKS[k]), file);
  }
  await run('convert', [...args, join(dir, 'in.gif')]);
  gif = await readFile(join(dir, 'in.gif'));
  // Debian's ImageMagick 6 does not write a WebP loop count, so the WebP comes from sharp (lossless), from raw frames.
  const roll = Buffer.concat(frames.map((raw) => raw.data));
  webp = await sharp(roll, { raw: { width: W, height: H * frames.length, channels: 3, pageHeight: H } })
    .webp({ lossless: true, loop: LOOP, delay: TICKS.map((t) => t * 10) })
    .toBuffer();
});

after(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

interface Decoded {
  frames: Raw[];
  /** Centiseconds, per frame. */
  ticks: number[];
  loop: number;
}

let counter = 0;
/** Every frame of an animation, by ImageMagick: coalesced (each frame whole), RGB, with delays and iteration count. */
async function decodeAll(image: Buffer): Promise<Decoded> {
  const file = join(dir, `out-${counter++}`);
  await writeFile(file, image);
  const { stdout: sizes } = await run('identify', ['-format', '%w %h %T\n', file]);
  const rows = sizes.trim().split('\n').map((line) => line.split(' ').map(Number));
  const { stdout: verbose } = await run('identify', ['-verbose', file], { maxBuffer: 64 << 20 });
  const loop = Number(/Iterations: (\d+)/.exec(verbose)?.[1] ?? NaN);
  const { stdout: pixels } = await run('convert', [file, '-coalesce', '-alpha', 'off', '-depth', '8', 'rgb:-'], { encoding: 'buffer', maxBuffer: 64 << 20 });
  let offset = 0;
  const decoded = rows.map(([width, height]) => {
    const size = width! * height! * 3;
    const raw = { data: new Uint8Array(pixels.subarray(offset, offset + size)), width: width!, height: height!, channels: 3 };
    offset += size;
    return raw;
  });
  assert.equal(offset, pixels.length, 'every byte ImageMagick decoded belongs to a frame');
  return { frames: decoded, ticks: rows.map((row) => row[2]!), loop };
}

/**
 * Frame count, delays, loop and frame size; then each frame against its reference within `minPsnr`, and closer to its
 * own reference than to any other frame's by at least 6 dB (a frame swapped or reversed fails there).
 */
async function assertAnimation(output: Buffer, references: Raw[], minPsnr: number, ticks = TICKS): Promise<number> {
  const decoded = await decodeAll(output);
  assert.equal(decoded.frames.length, references.length, 'frame count');
  assert.deepEqual(decoded.ticks, ticks, 'per-frame delays (centiseconds)');
  assert.equal(decoded.loop, LOOP, 'loop count');
  let worst = Infinity;
  for (const [k, got] of decoded.frames.entries()) {
    const ref = references[k]!;
    assert.deepEqual([got.width, got.height], [ref.width, ref.height], `frame ${k} size`);
    const own = psnr(got, ref);
    assert.ok(own >= minPsnr, `frame ${k}: PSNR ${own.toFixed(1)} dB < ${minPsnr} dB`);
    for (const [j, other] of references.entries()) {
      if (j !== k) assert.ok(psnr(got, other) < own - 6, `frame ${k} looks like frame ${j}`);
    }
    worst = Math.min(worst, own);
  }
  return worst;
}

/** Each input frame alone through `op`: the per-frame reference. */
const each = (op: (frame: Sharp) => Sharp) => Promise.all(frames.map((raw) => rawOf(op(toSharp(raw)))));

/**
 * GIF output is quantised (libimagequant, dithered); WebP and JPEG at quality 75 subsample chroma, which costs these
 * small, saturated, hard-edged frames about 26 dB. A frame mixed up with another scores about 10 dB.
 */
const MIN_PSNR = { gif: 26, webp: 24 } as const;

test('the test animations decode, frame by frame, to the frames they were made from', async () => {
  assert.equal(await assertAnimation(gif, frames, Infinity), Infinity);
  assert.equal(await assertAnimation(webp, frames, Infinity), Infinity);
});

const cases: { name: string; url: string; reference: (frame: Sharp) => Sharp }[] = [
  { name: 'resize', url: '/resize?width=24', reference: (f) => f.resize(24, 16, { fit: 'fill' }) },
  { name: 'fit', url: '/fit?width=24&height=24', reference: (f) => f.resize(24, 16, { fit: 'fill' }) },
  { name: 'crop', url: '/crop?width=24&height=24', reference: (f) => f.resize(24, 24, { fit: 'cover' }) },
  { name: 'extract', url: '/extract?top=4&left=8&areawidth=20&areaheight=16', reference: (f) => f.extract({ left: 8, top: 4, width: 20, height: 16 }) },
  { name: 'rotate 90', url: '/rotate?rotate=90', reference: (f) => f.rotate(90) },
  { name: 'rotate 180', url: '/rotate?rotate=180', reference: (f) => f.rotate(180) },
  // imaginary's flip mirrors left-right (sharp's flop), its flop top-bottom (sharp's flip).
  { name: 'flip', url: '/flip', reference: (f) => f.flop() },
  { name: 'flop', url: '/flop', reference: (f) => f.flip() },
  { name: 'blur', url: '/blur?sigma=2', reference: (f) => f.blur(2) },
  { name: 'turn 30 (any angle)', url: '/turn?angle=30&background=255,255,255', reference: (f) => f.rotate(30, { background: '#ffffff' }) },
];

for (const type of ['gif', 'webp'] as const) {
  for (const { name, url, reference } of cases) {
    test(`${name}: an animated GIF in, every frame out as animated ${type}, with its delay and the loop`, async () => {
      const response = await postRaw(app, `${url}${url.includes('?') ? '&' : '?'}type=${type}`, gif, 'image/gif');
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.headers['content-type'], `image/${type}`);
      const references = await each(reference);
      // The size headers name a frame's size, not the roll's.
      assert.equal(Number(response.headers['image-height'] ?? references[0]!.height), references[0]!.height);
      await assertAnimation(response.rawPayload, references, MIN_PSNR[type]);
    });
  }
}

test('GIF to WebP and WebP to GIF keep every frame, delay and the loop count (convert, decoded by ImageMagick)', async () => {
  const toWebp = await postRaw(app, '/convert?type=webp', gif, 'image/gif');
  assert.equal(toWebp.statusCode, 200, toWebp.body);
  assert.equal(toWebp.headers['content-type'], 'image/webp');
  const webpScore = await assertAnimation(toWebp.rawPayload, frames, MIN_PSNR.webp);
  const toGif = await postRaw(app, '/convert?type=gif', webp, 'image/webp');
  assert.equal(toGif.statusCode, 200, toGif.body);
  assert.equal(toGif.headers['content-type'], 'image/gif');
  const gifScore = await assertAnimation(toGif.rawPayload, frames, MIN_PSNR.gif);
  // Without type an animation stays in its own format, still animated.
  const same = await postRaw(app, '/resize?width=24', webp, 'image/webp');
  assert.equal(same.headers['content-type'], 'image/webp');
  await assertAnimation(same.rawPayload, await each((f) => f.resize(24, 16, { fit: 'fill' })), MIN_PSNR.webp);
  console.log(`# GIF->WebP worst frame ${webpScore.toFixed(1)} dB, WebP->GIF worst frame ${gifScore.toFixed(1)} dB`);
});

test('smartcrop cuts every frame at one window, the one attention picks on the first frame', async () => {
  const response = await postRaw(app, '/smartcrop?width=16&height=16&type=webp', webp, 'image/webp');
  assert.equal(response.statusCode, 200, response.body);
  const first = await toSharp(frames[0]!).resize(16, 16, { fit: 'cover', position: sharp.strategy.attention }).raw().toBuffer({ resolveWithObject: true });
  const left = -(first.info.cropOffsetLeft ?? 0);
  const top = -(first.info.cropOffsetTop ?? 0);
  const references = await each((f) => f.resize(16, 16, { fit: 'outside' }).extract({ left, top, width: 16, height: 16 }));
  await assertAnimation(response.rawPayload, references, MIN_PSNR.webp);
});

test('a pipeline hands every frame and its timing from step to step (GIF in, WebP out)', async () => {
  const operations = JSON.stringify([
    { operation: 'resize', params: { width: 36 } },
    { operation: 'rotate', params: { rotate: 90 } },
    { operation: 'blur', params: { sigma: 1 } },
    { operation: 'convert', params: { type: 'webp' } },
  ]);
  const response = await postRaw(app, `/pipeline?operations=${encodeURIComponent(operations)}`, gif, 'image/gif');
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['content-type'], 'image/webp');
  // Each step's output goes to the next as raw pixels, as in the service.
  const references = await Promise.all(
    frames.map(async (raw) => {
      const resized = await rawOf(toSharp(raw).resize(36, 24, { fit: 'fill' }));
      const rotated = await rawOf(toSharp(resized).rotate(90));
      return rawOf(toSharp(rotated).blur(1));
    }),
  );
  await assertAnimation(response.rawPayload, references, MIN_PSNR.webp);
});

test('a blur does not bleed across frames: each frame edge keeps its own colour', async () => {
  // Flat frames: a blur leaves each one flat, unless the frame above or below bleeds into its edge rows.
  const flat = backgrounds.map((colour) => {
    const data = new Uint8Array(W * H * 3);
    for (let i = 0; i < W * H; i++) data.set(colour, i * 3);
    return { data, width: W, height: H, channels: 3 };
  });
  const roll = Buffer.concat(flat.map((raw) => raw.data));
  const input = await sharp(roll, { raw: { width: W, height: H * flat.length, channels: 3, pageHeight: H } })
    .gif({ loop: LOOP, delay: TICKS.map((t) => t * 10) })
    .toBuffer();
  const response = await postRaw(app, '/blur?sigma=6', input, 'image/gif');
  assert.equal(response.statusCode, 200, response.body);
  const { frames: got } = await decodeAll(response.rawPayload);
  assert.equal(got.length, flat.length);
  for (const [k, raw] of got.entries()) {
    for (const y of [0, 1, H - 2, H - 1]) {
      for (const x of [0, W >> 1, W - 1]) {
        const pixel = [...raw.data.subarray((y * W + x) * 3, (y * W + x) * 3 + 3)];
        const off = Math.max(...pixel.map((v, c) => Math.abs(v - backgrounds[k]![c]!)));
        assert.ok(off <= 2, `frame ${k} pixel (${x},${y}) is ${pixel}, not its own ${backgrounds[k]} (off by ${off})`);
      }
    }
  }
});

test('formats that cannot animate (JPEG, PNG, AVIF, TIFF) get the first frame', async () => {
  for (const type of ['jpeg', 'png', 'avif', 'tiff'] as const) {
    const response = await postRaw(app, `/resize?width=24&type=${type}`, gif, 'image/gif');
    assert.equal(response.statusCode, 200, `${type}: ${response.body}`);
    const meta = await sharp(response.rawPayload).metadata();
    assert.equal(meta.format === 'heif' ? 'avif' : meta.format, type);
    assert.equal(meta.pages ?? 1, 1, `${type} holds one frame`);
    assert.deepEqual([meta.width, meta.height], [24, 16]);
    const [first, second] = await each((f) => f.resize(24, 16, { fit: 'fill' }));
    const got = await rawOf(sharp(response.rawPayload));
    const score = psnr(got, first!);
    // PNG and TIFF are lossless; JPEG and AVIF lose about what WebP does.
    assert.ok(score >= (type === 'png' || type === 'tiff' ? 40 : MIN_PSNR.webp), `${type}: PSNR ${score.toFixed(1)} dB against the first frame`);
    assert.ok(psnr(got, second!) < score - 6, `${type}: not the second frame`);
  }
});

test("POST / keeps Pillow's behaviour: the first frame, blurred, as JPEG (compared with Pillow itself)", { skip: skipPillow }, async () => {
  const response = await postFile(app, '/', 'img', gif);
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['content-type'], 'image/jpeg');
  const file = join(dir, 'in.gif');
  const out = join(dir, 'pillow.png');
  // Pillow's Image.open() of a GIF is its first frame; BLUR needs RGB (a palette image cannot be filtered).
  await run(PYTHON, ['-c', 'import sys; from PIL import Image, ImageFilter; Image.open(sys.argv[1]).convert("RGB").filter(ImageFilter.BLUR).save(sys.argv[2])', file, out]);
  const pillow = await rawOf(sharp(out));
  const ours = await rawOf(sharp(response.rawPayload));
  // JPEG at quality 75 costs these saturated hard edges some 34 dB; through the same encoder, Pillow's pixels must
  // give ours exactly (the blur is bit for bit Pillow's, on the first frame).
  const score = psnr(ours, pillow);
  assert.ok(score >= 30, `PSNR ${score.toFixed(1)} dB against Pillow's first frame`);
  const pillowJpeg = await rawOf(sharp(await toSharp(pillow).jpeg({ quality: 75 }).toBuffer()));
  assert.equal(psnr(ours, pillowJpeg), Infinity, "Pillow's blurred first frame, JPEG-encoded alike");
});

test('frame limits: too many frames or animation pixels are refused from the header, an animated output too large as well', async () => {
  const fewFrames = await testApp({ limits: { maxFrames: 3 } });
  try {
    assertProblem(await postRaw(fewFrames, '/resize?width=24&type=gif', gif, 'image/gif'), 413, 'PP_TOO_MANY_PIXELS', /declares 4 frames, over the limit of 3/);
  } finally {
    await fewFrames.close();
  }
  // 4 frames of 48x32 are 6144 pixels: under 8000 in, but 4 frames of 96x64 (24576) out are not.
  const fewPixels = await testApp({ limits: { maxAnimationPixels: 6000 } });
  const somePixels = await testApp({ limits: { maxAnimationPixels: 8000 } });
  try {
    assertProblem(await postRaw(fewPixels, '/convert?type=webp', webp, 'image/webp'), 413, 'PP_TOO_MANY_PIXELS', /Animation has 6144 pixels over 4 frames/);
    assertProblem(await postRaw(somePixels, '/enlarge?width=96&height=64&type=webp', webp, 'image/webp'), 413, 'PP_OUTPUT_TOO_LARGE', /4 frames of 96x64 \(24576 pixels\)/);
    const fine = await postRaw(somePixels, '/resize?width=24&type=webp', webp, 'image/webp');
    assert.equal(fine.statusCode, 200, fine.body);
  } finally {
    await fewPixels.close();
    await somePixels.close();
  }
});
