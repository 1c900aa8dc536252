/**
 * PDF and Illustrator input: pages rendered by PDFium (WebAssembly) against poppler's pdftoppm, page choice, the size
 * hint, transparency, and hostile documents. PDFs are written by the test (tools.ts buildPdf) with exact xref tables.
 *
 * Thresholds, on vector art flattened on white: PSNR >= 40 dB at 72 dpi (measured 46 dB); >= 28 dB at preview size
 * (measured 29-31 dB), where a stroke is two pixels wide and the two rasterisers anti-alias its edges differently.
 */
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { closeDecoderPool, decodeToRaw, probeContainer, sniffContainer } from '../../src/core/decoders/index.js';
import { Deadline } from '../../src/core/encoders/deadline.js';
import { isImageError } from '../../src/core/errors.js';
import { defaultLimits, type Limits } from '../../src/core/limits.js';
import { meanColour, psnr, type Raw } from '../../testkit/images.js';
import { artContent, buildPdf, missingTools, onWhite, pdftoppm } from './tools.js';

const skip = missingTools('pdftoppm');
const limits: Limits = { ...defaultLimits };
after(() => closeDecoderPool());

const asRaw = (r: { data: Uint8Array; width: number; height: number; channels: number }): Raw => ({ data: r.data, width: r.width, height: r.height, channels: r.channels });

async function refused(input: Buffer, code: string, detail: RegExp, options: Partial<Parameters<typeof decodeToRaw>[1]> = {}): Promise<number> {
  const started = performance.now();
  await assert.rejects(decodeToRaw(input, { limits, ...options }), (err) => {
    assert.ok(isImageError(err), `expected an ImageError, got ${String(err)}`);
    assert.equal(err.code, code, err.detail);
    assert.match(err.detail, detail);
    return true;
  });
  return performance.now() - started;
}

test('a page renders straight at the size asked for and matches pdftoppm', { skip }, async () => {
  const pdf = buildPdf([{ content: artContent() }]);
  assert.equal(sniffContainer(pdf), 'pdf');
  assert.deepEqual(await probeContainer(pdf, { limits }), { format: 'pdf', width: 612, height: 792, pages: 1, hasAlpha: true, thumbnails: [] });
  const page = await decodeToRaw(pdf, { limits, targetWidth: 256, targetHeight: 256 });
  assert.deepEqual([page.width, page.height, page.channels, page.source], [198, 256, 4, 'page']);
  const db = psnr(onWhite(asRaw(page)), await pdftoppm(pdf, 1, 198, 256));
  assert.ok(db >= 28, `PSNR ${db.toFixed(1)} dB`);
  // 'cover' (smartcrop's need): the page covers the box, to be cropped.
  const cover = await decodeToRaw(pdf, { limits, targetWidth: 256, targetHeight: 256, targetFit: 'cover' });
  assert.deepEqual([cover.width, cover.height], [256, 331]);
  // Without a hint the page is rendered at 72 dpi, the size libvips' own PDF loader reports.
  const full = await decodeToRaw(pdf, { limits });
  assert.deepEqual([full.width, full.height], [612, 792]);
  const fullDb = psnr(onWhite(asRaw(full)), await pdftoppm(pdf, 1, 612, 792));
  assert.ok(fullDb >= 40, `full size PSNR ${fullDb.toFixed(1)} dB`);
});

test('the paper stays transparent, so PNG output keeps it', { skip }, async () => {
  const page = await decodeToRaw(buildPdf([{ content: artContent() }]), { limits, targetWidth: 100 });
  assert.equal(page.data[3], 0, 'top-left corner: nothing painted, alpha 0');
  // Inside the first rectangle (72,400)-(372,650) in points: opaque.
  const x = Math.round(200 * (100 / 612));
  const y = Math.round((792 - 500) * (100 / 612));
  assert.equal(page.data[(y * page.width + x) * 4 + 3], 255);
});

test('page=N chooses the page; first by default; out of range is a 400', { skip }, async () => {
  const colours = ['1 0 0', '0 1 0', '0 0 1'];
  const pdf = buildPdf(colours.map((rgb) => ({ content: `${rgb} rg 0 0 200 100 re f`, box: [0, 0, 200, 100] as [number, number, number, number] })));
  assert.equal((await probeContainer(pdf, { limits }))?.pages, 3);
  const mean = async (page?: number) => meanColour(asRaw(await decodeToRaw(pdf, { limits, ...(page ? { page } : {}) })), 10, 10, 20, 20).slice(0, 3);
  assert.deepEqual(await mean(), [255, 0, 0]);
  assert.deepEqual(await mean(2), [0, 255, 0]);
  assert.deepEqual(await mean(3), [0, 0, 255]);
  await refused(pdf, 'PP_INVALID_PARAM', /page between 1 and 3 but received 4/, { page: 4 });
  await refused(pdf, 'PP_INVALID_PARAM', /positive integer for page/, { page: 0 });
});

test('/Rotate turns the page, as pdftoppm does', { skip }, async () => {
  const pdf = buildPdf([{ content: artContent(3), extra: '/Rotate 90' }]);
  assert.deepEqual((await probeContainer(pdf, { limits }))?.width, 792);
  const page = await decodeToRaw(pdf, { limits, targetWidth: 256 });
  assert.deepEqual([page.width, page.height], [256, 198]);
  // pdftoppm scales the unrotated page, then turns it.
  const db = psnr(onWhite(asRaw(page)), await pdftoppm(pdf, 1, 198, 256));
  assert.ok(db >= 28, `PSNR ${db.toFixed(1)} dB`);
});

test('an Illustrator file (PDF-compatible .ai) renders like the PDF it is', { skip }, async () => {
  // Illustrator writes a PDF whose pages carry /PieceInfo with its private data, after a PDF header.
  const ai = buildPdf([{ content: artContent(5), extra: '/PieceInfo << /Illustrator << /LastModified (D:20240101) /Private 9 0 R >> >>' }], {
    objects: ['<< /AIMetaData 10 0 R >>', '<< /Length 20 >>\nstream\n%!PS-Adobe-3.0 \n%%AI\nendstream'],
    header: '%PDF-1.6\n%\xe2\xe3\xcf\xd3\n',
  });
  assert.equal(sniffContainer(ai), 'pdf');
  const page = await decodeToRaw(ai, { limits });
  const db = psnr(onWhite(asRaw(page)), await pdftoppm(ai, 1, page.width, page.height));
  assert.ok(db >= 40, `PSNR ${db.toFixed(1)} dB`);
});

test('hostile PDFs get a 4xx within the time limit and the pool keeps working', { skip }, async () => {
  const art = buildPdf([{ content: artContent() }]);
  const cases: [string, Buffer, string, RegExp][] = [
    ['truncated to its header', art.subarray(0, 40), 'PP_UNDECODABLE', /PDF/],
    ['not a PDF after the signature', Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(5000, 0x41)]), 'PP_UNDECODABLE', /PDF/],
    ['huge page box', buildPdf([{ content: '', box: [0, 0, 14400, 14400] }]), 'PP_TOO_MANY_PIXELS', /14400x14400/],
    ['thousands of pages', buildPdf(Array.from({ length: 3000 }, () => ({ content: '' }))), 'PP_TOO_MANY_PIXELS', /3000 pages/],
    ['JavaScript', buildPdf([{ content: artContent() }], { catalogExtra: '/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>' }), 'PP_UNSUPPORTED_MEDIA', /JavaScript/],
    ['a form', buildPdf([{ content: artContent() }], { catalogExtra: '/AcroForm << /Fields [] >>' }), 'PP_UNSUPPORTED_MEDIA', /AcroForm|form/],
    ['a launch action', buildPdf([{ content: artContent() }], { catalogExtra: '/OpenAction << /S /Launch /F (/bin/sh) >>' }), 'PP_UNSUPPORTED_MEDIA', /Launch/],
    ['a link to another file', buildPdf([{ content: artContent() }], { catalogExtra: '/OpenAction << /S /GoToR /F (http://192.0.2.1/x.pdf) /D [0 /Fit] >>' }), 'PP_UNSUPPORTED_MEDIA', /GoToR/],
    ['an external stream', buildPdf([{ content: '', extra: '' }], { objects: ['<< /Length 0 /F << /FS /URL /F (http://192.0.2.1/x) >> >>\nstream\n\nendstream'] }), 'PP_UNSUPPORTED_MEDIA', /URL/],
    ['a page tree that is only a loop', loopingPageTree('/Kids [2 0 R]'), 'PP_UNDECODABLE', /no pages|has no size/],
  ];
  for (const [label, pdf, code, detail] of cases) {
    const ms = await refused(pdf, code, detail).catch((err: unknown) => {
      throw new Error(`${label}: ${(err as Error).message}`);
    });
    assert.ok(ms < 5_000, `${label}: refused after ${ms.toFixed(0)} ms`);
  }
  const page = await decodeToRaw(art, { limits, targetWidth: 64 });
  assert.equal(page.width, 64);
  // A tree that loops besides its real page: PDFium skips the cycle, so the one real page renders, promptly.
  const started = performance.now();
  const looped = await decodeToRaw(loopingPageTree('/Kids [2 0 R 3 0 R]'), { limits, targetWidth: 64 });
  assert.deepEqual([looped.width, looped.info.pages], [64, 1]);
  assert.ok(performance.now() - started < 5_000);
});

/** Pages whose /Kids point back at their own /Pages node. */
function loopingPageTree(kids: string): Buffer {
  const pdf = buildPdf([{ content: '' }]).toString('latin1');
  // Same length or not, PDFium finds objects by the xref; only the /Kids array changes.
  return Buffer.from(pdf.replace('/Kids [3 0 R]', kids), 'latin1');
}

test('a page that renders too long is stopped at the deadline, and the event loop never stalls', { skip }, async () => {
  // Hundreds of thousands of anti-aliased, blended strokes at a large size: seconds of work inside PDFium.
  const strokes: string[] = ['/GS1 gs 0.5 w'];
  for (let i = 0; i < 300_000; i++) strokes.push(`${i % 600} ${(i * 7) % 800} m ${(i * 13) % 600} ${(i * 3) % 800} l S`);
  const pdf = buildPdf([{ content: strokes.join('\n'), extra: '/Resources << /ExtGState << /GS1 << /CA 0.5 /BM /Multiply >> >> >>', compress: true }]);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const started = performance.now();
  const outcome = await decodeToRaw(pdf, { limits, targetWidth: 4000, deadline: new Deadline(1) }).then(
    () => 'rendered',
    (err: unknown) => (isImageError(err) ? err.code : String(err)),
  );
  const elapsed = performance.now() - started;
  lag.disable();
  assert.equal(outcome, 'PP_TIMEOUT');
  // The worker is terminated at the deadline, not when PDFium finishes: one second plus thread teardown.
  assert.ok(elapsed < 2_500, `stopped after ${elapsed.toFixed(0)} ms`);
  // /health must answer within 200 ms while this happens; the main thread's own delay stays far below that.
  assert.ok(lag.max / 1e6 < 200, `event loop delay up to ${(lag.max / 1e6).toFixed(0)} ms`);
  // The terminated worker is replaced: the next decode works.
  assert.equal((await decodeToRaw(buildPdf([{ content: artContent() }]), { limits, targetWidth: 32 })).width, 32);
});
