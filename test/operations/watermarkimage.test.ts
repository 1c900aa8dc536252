/**
 * watermarkimage (pipeline watermarkImage): the fetched overlay drawn at (left, top) with its alpha times opacity,
 * against the compositing formula computed here from decoded pixels. The overlay comes from a local origin through
 * the guard's test switch (testkit/remote.ts); the library's run() takes a fetcher of its own, and without one says so.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { run } from '../../src/core/pipeline.js';
import { assertProblem, postRaw } from '../../testkit/http.js';
import { decode, photo, psnr, type Raw } from '../../testkit/images.js';
import { fakeDns, publicAddress, remoteApp, sendImage, startOrigin, type Origin } from '../../testkit/remote.js';

let app: FastifyInstance;
let origin: Origin;
let input: Buffer;
let overlay: Buffer;
let overlayUrl: string;

/** 40x30 RGBA: a colour ramp whose alpha runs from 0 to 255 across, so every blend weight is exercised. */
async function rampOverlay(): Promise<Buffer> {
  const width = 40;
  const height = 30;
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set([Math.round((255 * x) / width), Math.round((255 * y) / height), 200, Math.round((255 * x) / (width - 1))], (y * width + x) * 4);
    }
  }
  return sharp(data, { raw: { width, height, channels: 4 } }).png().toBuffer();
}

/** Source-over on an opaque image: out = overlay x a + base x (1 - a), a = overlay alpha x opacity, cut at the edges. */
function composite(base: Raw, top: Raw, left: number, topOffset: number, opacity: number): Raw {
  const data = Uint8Array.from(base.data);
  for (let y = 0; y < top.height && y + topOffset < base.height; y++) {
    for (let x = 0; x < top.width && x + left < base.width; x++) {
      const o = (y * top.width + x) * 4;
      const a = (top.data[o + 3]! / 255) * opacity;
      const b = ((y + topOffset) * base.width + x + left) * base.channels;
      for (let c = 0; c < 3; c++) data[b + c] = Math.round(top.data[o + c]! * a + base.data[b + c]! * (1 - a));
    }
  }
  return { ...base, data };
}

before(async () => {
  input = await photo(120, 80, 'png');
  overlay = await rampOverlay();
  origin = await startOrigin(publicAddress, { '/mark.png': sendImage(overlay) });
  overlayUrl = `http://marks.test:${origin.port}/mark.png`;
  app = await remoteApp({}, fakeDns({ 'marks.test': [publicAddress] }).lookup);
});
after(async () => {
  await app.close();
  await origin.close();
});

const mark = (query: string) => postRaw(app, `/watermarkimage?image=${encodeURIComponent(overlayUrl)}&type=png&${query}`, input, 'image/png');

for (const [left, top, opacity] of [[0, 0, 0], [10, 20, 0.5], [100, 70, 1], [5, 60, 0.25]] as const) {
  test(`left=${left} top=${top} opacity=${opacity}: the overlay composited at its place, cut at the edges`, async () => {
    const response = await mark(`left=${left}&top=${top}&opacity=${opacity}`);
    assert.equal(response.statusCode, 200, response.body);
    const got = await decode(response.rawPayload);
    const base = await decode(input);
    // imaginary: opacity 0 (absent) draws the overlay as it is.
    const expected = composite(base, await decode(overlay), left, top, opacity === 0 ? 1 : opacity);
    const rgb = { ...got, channels: 3, data: Uint8Array.from(got.data.filter((_, i) => got.channels === 3 || i % 4 !== 3)) };
    // Measured 60.4-68.4 dB (off by one here and there): libvips blends in float, premultiplied; the reference rounds once.
    const score = psnr(rgb, expected);
    assert.ok(score > 50, `PSNR ${score}`);
    // And it did draw: the untouched image scores 22.7-33.4 dB against the result.
    assert.ok(psnr(rgb, base) < score - 10);
  });
}

test('an overlay entirely off the image leaves it as it was; the common parameters resize first', async () => {
  const off = await mark('left=500&top=0');
  assert.equal(off.statusCode, 200, off.body);
  assert.equal(psnr(await decode(off.rawPayload), await decode(input)), Infinity);
  const resized = await mark('width=60');
  assert.equal(resized.headers['image-width'], '60');
  // GIF is encoded in the isolated child: the fetched overlay crosses to it as bytes, and is drawn there the same.
  const gif = await postRaw(app, `/watermarkimage?image=${encodeURIComponent(overlayUrl)}&left=10&top=20&type=gif`, input, 'image/png');
  assert.equal(gif.statusCode, 200, gif.body);
  const png = await decode((await mark('left=10&top=20')).rawPayload);
  // Measured 33.7 dB against the PNG answer (the GIF palette's loss), 22.3 against the bare image: the overlay is there.
  const gifPixels = await decode(gif.rawPayload);
  const rgb = (raw: typeof png) => ({ ...raw, channels: 3, data: Uint8Array.from(raw.data.filter((_, i) => raw.channels === 3 || i % 4 !== 3)) });
  const score = psnr(rgb(gifPixels), rgb(png));
  assert.ok(score > 30 && psnr(rgb(gifPixels), await decode(input)) < score - 5, `PSNR ${score}`);
});

test('as the pipeline step watermarkImage (camelCase, as imaginary) it gives the same pixels; it is documented', async () => {
  const route = await mark('left=10&top=20&opacity=0.5');
  const steps = encodeURIComponent(JSON.stringify([{ operation: 'watermarkImage', params: { image: overlayUrl, left: 10, top: 20, opacity: 0.5, type: 'png' } }]));
  const pipeline = await postRaw(app, `/pipeline?operations=${steps}`, input, 'image/png');
  assert.equal(pipeline.statusCode, 200, pipeline.body);
  assert.equal(psnr(await decode(pipeline.rawPayload), await decode(route.rawPayload)), Infinity);
  const lower = encodeURIComponent(JSON.stringify([{ operation: 'watermarkimage', params: { image: overlayUrl } }]));
  assertProblem(await postRaw(app, `/pipeline?operations=${lower}`, input), 400, 'PP_INVALID_PIPELINE', /Unsupported operation name: watermarkimage/);
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post?: { description?: string }; get?: unknown }> };
  assert.match(document.paths['/watermarkimage']?.post?.description ?? '', /PP_ENABLE_URL_SOURCE/);
  assert.ok(document.paths['/watermarkimage']?.get, 'with remote sources on, GET ?url= is documented too');
});

test('hostile parameters are 400s, never a 5xx or a hang', async () => {
  for (const query of ['opacity=NaN', 'opacity=2', 'opacity=1e309', 'left=abc', 'top=99999999999', 'left=1.5e7']) {
    assertProblem(await mark(query), 400, 'PP_INVALID_PARAM', /opacity|left|top/);
  }
  assertProblem(await postRaw(app, '/watermarkimage?left=1', input), 400, 'PP_MISSING_PARAM', 'Missing required param: image');
  for (const image of ['file:///etc/passwd', 'gopher://x/', 'not a url', 'javascript:alert(1)']) {
    assertProblem(await postRaw(app, `/watermarkimage?image=${encodeURIComponent(image)}`, input), 400, 'PP_REMOTE_URL_INVALID', /http/);
  }
  // The overlay goes through the guard like ?url= does.
  assertProblem(await postRaw(app, `/watermarkimage?image=${encodeURIComponent('http://169.254.169.254/')}`, input), 403, 'PP_REMOTE_ADDRESS_REFUSED', /linkLocal/);
  // An SVG overlay is refused, not rendered.
  const svg = await startOrigin(publicAddress, { '/mark.svg': sendImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), 'image/svg+xml') });
  try {
    const response = await postRaw(app, `/watermarkimage?image=${encodeURIComponent(`http://marks.test:${svg.port}/mark.svg`)}`, input);
    assert.ok(response.statusCode === 415, response.body);
  } finally {
    await svg.close();
  }
});

test('the library: run() takes a fetchImage of its own, and without one refuses with PP_REMOTE_DISABLED', async () => {
  const steps = [{ operation: 'watermarkImage', params: { image: 'https://example.com/mark.png', left: '10', top: '20', opacity: '0.5', type: 'png' } }];
  await assert.rejects(run(input, steps), (err: { code?: string; detail?: string }) => err.code === 'PP_REMOTE_DISABLED' && /no remote fetcher/.test(err.detail ?? ''));
  const asked: string[] = [];
  const result = await run(input, steps, { source: 'query', fetchImage: async (url) => (asked.push(url), overlay) });
  assert.deepEqual(asked, ['https://example.com/mark.png']);
  assert.equal(psnr(await decode(result.data), await decode((await mark('left=10&top=20&opacity=0.5')).rawPayload)), Infinity);
});

test('the CLI lists it and, having no fetcher, says so', { timeout: 120_000 }, async () => {
  const cli = (args: string[]) => {
    const running = promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: new URL('../../', import.meta.url), encoding: 'buffer' });
    running.child.stdin?.end(input);
    return running;
  };
  const help = await cli(['help', 'watermarkImage']);
  assert.match(help.stdout.toString(), /pixelpress watermarkImage: Overlay an image fetched from a URL/);
  await assert.rejects(cli(['watermarkImage', '--image', 'https://example.com/m.png', '-o', '-', '-']), (err: { stderr: Buffer; code: number }) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr.toString(), /PP_REMOTE_DISABLED/);
    return true;
  });
});
