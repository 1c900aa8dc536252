/**
 * Nextcloud's exact preview requests for the new input formats, over a real socket with a chunked body, as its
 * Imaginary provider sends them: HEIC `[fit jpeg]` (no autorotate), PDF and Illustrator `[convert png, fit png]`, BMP
 * `[autorotate, fit jpeg]`; `preview_format=webp` makes every type webp, and a crop replaces fit with smartcrop.
 * Each answer is checked by size headers and by pixels against the independent reference decoder's output, scaled.
 * And /health answers within 200 ms while a hostile PDF is being refused.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { closeDecoderPool } from '../../src/core/decoders/index.js';
import { buildApp } from '../../src/http/app.js';
import { photo, psnr, type Raw } from '../../testkit/images.js';
import { startServer } from '../../testkit/server-process.js';
import { artContent, buildPdf, heifConvert, heifEncode, magick, missingTools, onWhite, pdftoppm, toRaw, withFiles } from './tools.js';

const skip = missingTools('heifEnc', 'heifConvert', 'pdftoppm', 'magick', 'rsvgConvert');
let app: FastifyInstance;
let base: string;
type Name = 'heic' | 'pdf' | 'ai' | 'bmp' | 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'svg';
const inputs: Record<Name, { body: Buffer; mime: string; reference: Raw }> = {} as never;

/** Shapes and a gradient at the photo's 640x400, for the SVG input (a photograph has no SVG form). */
const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="640" height="400" viewBox="0 0 640 400">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#1e5aa0"/><stop offset="1" stop-color="#f0c850"/></linearGradient></defs>
<rect width="640" height="400" fill="url(#g)"/><circle cx="220" cy="200" r="110" fill="#c83c28"/><rect x="400" y="60" width="150" height="280" fill="#283cc8"/></svg>`);

before(async () => {
  if (skip) return;
  app = await buildApp();
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const heic = await heifEncode(await photo(640, 400, 'png'), { thumb: 320 });
  const pdf = buildPdf([{ content: artContent() }]);
  const ai = buildPdf([{ content: artContent(5), extra: '/PieceInfo << /Illustrator << /Private 5 0 R >> >>' }], { objects: ['<< /AIPrivateData1 6 0 R >>'] });
  const bmp = await magick(await photo(640, 400, 'png'), 'in.png', 'BMP3:out.bmp', ['-type', 'TrueColor']);
  inputs.heic = { body: heic, mime: 'image/heic', reference: await heifConvert(heic, 3) };
  inputs.pdf = { body: pdf, mime: 'application/pdf', reference: await pdftoppm(pdf, 1, 612, 792) };
  inputs.ai = { body: ai, mime: 'application/illustrator', reference: await pdftoppm(ai, 1, 612, 792) };
  inputs.bmp = { body: bmp, mime: 'image/bmp', reference: await toRaw(await magick(bmp, 'in.bmp', 'out.png'), 3) };
  // The formats libvips reads, each written by ImageMagick and decoded by ImageMagick for the reference.
  const png = await photo(640, 400, 'png');
  const made: [Name, string, string, string[]][] = [
    ['jpeg', 'image/jpeg', 'out.jpg', ['-quality', '92']],
    ['png', 'image/png', 'out.png', []],
    ['webp', 'image/webp', 'out.webp', ['-quality', '92']],
    ['gif', 'image/gif', 'out.gif', []],
    ['tiff', 'image/tiff', 'out.tif', ['-compress', 'LZW']],
  ];
  for (const [name, mime, file, args] of made) {
    const body = await magick(png, 'in.png', file, args);
    inputs[name] = { body, mime, reference: await toRaw(await magick(body, `in.${file.split('.')[1]}`, 'out.png'), 3) };
  }
  // ImageMagick 6's SVG reader needs a delegate Debian does not install; librsvg's own rsvg-convert is the reference.
  const [rendered] = await withFiles({ 'in.svg': svg }, [['/usr/bin/rsvg-convert', 'in.svg', '-o', 'out.png']], ['out.png']);
  inputs.svg = { body: svg, mime: 'image/svg+xml', reference: await toRaw(rendered!, 3) };
});
after(async () => {
  await app?.close();
  await closeDecoderPool();
});

/** POST with Transfer-Encoding: chunked, the body in 16 KB pieces, as Nextcloud's HTTP client streams a file. */
function postChunked(
  path: string,
  body: Buffer,
  mime: string,
  server = base,
  sent?: () => void,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server}${path}`, { method: 'POST', headers: { 'content-type': mime, 'transfer-encoding': 'chunked' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    for (let at = 0; at < body.length; at += 16_384) req.write(body.subarray(at, at + 16_384));
    req.end(sent);
  });
}

/** Nextcloud's operations for a mime type (lib/private/Preview/Imaginary.php), with its fixed params. */
function nextcloudOps(mime: string, format: 'jpeg' | 'webp', crop: boolean): object[] {
  const size = crop ? 'smartcrop' : 'fit';
  const params = (type: string) => ({ width: 256, height: 256, stripmeta: 'true', type, norotation: 'true', quality: '80' });
  const out = (type: 'jpeg' | 'png') => (format === 'webp' ? 'webp' : type);
  if (mime === 'image/heic') return [{ operation: size, params: params(out('jpeg')) }];
  if (mime === 'application/pdf' || mime === 'application/illustrator' || mime === 'image/svg+xml') {
    return [{ operation: 'convert', params: { type: out('png') } }, { operation: size, params: params(out('png')) }];
  }
  if (mime === 'image/gif' || mime === 'image/png') return [{ operation: 'autorotate' }, { operation: size, params: params(out('png')) }];
  return [{ operation: 'autorotate' }, { operation: size, params: params(out('jpeg')) }];
}

for (const format of ['jpeg', 'webp'] as const) {
  for (const crop of [false, true]) {
    test(`Nextcloud's ${crop ? 'smartcrop' : 'fit'} ${format} preview of HEIC, PDF, AI, SVG, GIF, PNG, BMP, JPEG, TIFF and WebP, chunked`, { skip }, async () => {
      for (const [name, input] of Object.entries(inputs)) {
        const ops = nextcloudOps(input.mime, format, crop);
        const res = await postChunked(`/pipeline?operations=${encodeURIComponent(JSON.stringify(ops))}&key=`, input.body, input.mime);
        assert.equal(res.status, 200, `${name}: ${res.body.toString()}`);
        const meta = await sharp(res.body).metadata();
        const isDocument = name === 'pdf' || name === 'ai';
        const expectedType = format === 'webp' ? 'webp' : ['pdf', 'ai', 'svg', 'gif', 'png'].includes(name) ? 'png' : 'jpeg';
        assert.equal(meta.format, expectedType, name);
        const [w, h] = crop ? [256, 256] : isDocument ? [198, 256] : [256, 160];
        assert.deepEqual([meta.width, meta.height], [w, h], name);
        assert.equal(res.headers['image-width'], String(w), `${name}: Image-Width`);
        assert.equal(res.headers['image-height'], String(h), `${name}: Image-Height`);
        if (isDocument) assert.equal(meta.hasAlpha, true, `${name}: the transparent paper is kept`);
        if (crop) continue; // smartcrop's window is its own choice; the fit answers carry the pixel check
        // Against the reference decoder's pixels scaled to the same size: PSNR >= 25 dB after a lossy 256 px encode.
        const ours = await toRaw(isDocument ? await sharp(res.body).flatten({ background: '#fff' }).png().toBuffer() : res.body, 3);
        const ref = input.reference;
        const scaled = await toRaw(await sharp(Buffer.from(ref.data), { raw: { width: ref.width, height: ref.height, channels: 3 } }).resize(w, h, { fit: 'fill' }).png().toBuffer(), 3);
        const db = psnr(isDocument ? onWhite(ours) : ours, scaled);
        assert.ok(db >= 25, `${name} ${format}: PSNR ${db.toFixed(1)} dB against the reference decoder`);
      }
    });
  }
}

test('/health answers within 200 ms while a hostile PDF is refused', { skip, timeout: 120_000 }, async () => {
  // The built server in its own process, as deployed: the test's own garbage and loaders do not share its event loop.
  const server = await startServer({ PP_WORKERS: '1', PP_PROCESS_TIMEOUT_SECONDS: '3' });
  try {
    const strokes: string[] = ['/GS1 gs 0.5 w'];
    for (let i = 0; i < 300_000; i++) strokes.push(`${i % 600} ${(i * 7) % 800} m ${(i * 13) % 600} ${(i * 3) % 800} l S`);
    const hostile = buildPdf([{ content: strokes.join('\n'), extra: '/Resources << /ExtGState << /GS1 << /CA 0.5 /BM /Multiply >> >> >>', compress: true }]);
    // Hundreds of thousands of blended strokes (1.5 MB deflated) at 4000x5000: far more than 3 s of rendering.
    const ops = [{ operation: 'enlarge', params: { width: 4000, height: 5000, type: 'png' } }];
    // A warm server, as one that has served a preview: starting its first decoder thread is not what is measured.
    assert.equal((await postChunked('/fit?width=64&height=64', inputs.pdf.body, 'application/pdf', server.base)).status, 200);
    // And a warm client: the test's first fetch() loads undici, which is the test's time, not the server's.
    await (await fetch(`${server.base}/health`)).arrayBuffer();
    // Up to three tries: this 2-core machine is shared (load averages of 15+ were seen), and the operating system
    // alone can delay a poll past 200 ms; a refusal that stalled the event loop would fail every try.
    const slowest: number[] = [];
    for (let attempt = 0; attempt < 3 && !(slowest.at(-1)! < 200); attempt++) {
      const started = performance.now();
      let uploaded!: () => void;
      const sent = new Promise<void>((resolve) => (uploaded = resolve));
      const refused = postChunked(`/pipeline?operations=${encodeURIComponent(JSON.stringify(ops))}`, hostile, 'application/pdf', server.base, uploaded);
      let done = false;
      void refused.finally(() => (done = true));
      // Measured from the end of the upload: receiving a body is the same for every format; the decode is what is new.
      await sent;
      const latencies: number[] = [];
      while (!done) {
        const t0 = performance.now();
        const res = await fetch(`${server.base}/health`);
        assert.equal(res.status, 200);
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
      }
      const res = await refused;
      const elapsed = performance.now() - started;
      assert.equal(res.status, 503, `refused at the deadline: ${res.status} ${res.body.toString()}`);
      assert.equal(JSON.parse(res.body.toString()).code, 'PP_TIMEOUT');
      assert.ok(latencies.length >= 3, `health was polled during the refusal (${latencies.length} times)`);
      // The limit, plus the upload and a worker's termination.
      assert.ok(elapsed < 3_000 + 2_000, `refused after ${elapsed.toFixed(0)} ms`);
      slowest.push(Math.max(...latencies));
    }
    assert.ok(slowest.at(-1)! < 200, `slowest /health per try: ${slowest.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  } finally {
    server.child.kill('SIGKILL');
    await server.exited;
  }
});
