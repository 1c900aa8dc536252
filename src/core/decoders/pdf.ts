/**
 * Worker side of PDF and Illustrator (.ai, PDF-compatible) input: PDFium built for WebAssembly by @embedpdf/pdfium.
 * One page is rendered, straight at the size asked for, on a transparent background. PDFium runs scripts and actions
 * only through a form-fill environment, which is never created here, and WebAssembly has no network: nothing in a
 * document can run or fetch. Documents that carry scripts, forms or references to other files are refused anyway, so
 * a preview never silently differs from what a viewer would show.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DecodeFailure } from './failure.js';
import { targetScale } from './target.js';
import type { ContainerInfo, DecodeTask, RawImage } from './types.js';

interface Pdfium {
  HEAPU8: Uint8Array;
  HEAPF32: Float32Array;
  wasmExports: { malloc(size: number): number; free(ptr: number): void };
  _PDFiumExt_Init(): void;
  _FPDF_LoadMemDocument64(data: number, size: number, password: number): number;
  _FPDF_GetLastError(): number;
  _FPDF_CloseDocument(doc: number): void;
  _FPDF_GetPageCount(doc: number): number;
  _FPDF_GetFormType(doc: number): number;
  _FPDFDoc_GetJavaScriptActionCount(doc: number): number;
  _FPDF_GetPageSizeByIndexF(doc: number, index: number, size: number): number;
  _FPDF_LoadPage(doc: number, index: number): number;
  _FPDF_ClosePage(page: number): void;
  _FPDFBitmap_Create(width: number, height: number, alpha: number): number;
  _FPDFBitmap_FillRect(bitmap: number, left: number, top: number, width: number, height: number, color: number): void;
  _FPDFBitmap_GetBuffer(bitmap: number): number;
  _FPDFBitmap_GetStride(bitmap: number): number;
  _FPDFBitmap_Destroy(bitmap: number): void;
  _FPDF_RenderPageBitmap(bitmap: number, page: number, x: number, y: number, w: number, h: number, rotate: number, flags: number): void;
}

// fpdfview.h render flags: draw annotations' appearance streams, and write RGBA instead of BGRA.
const FPDF_ANNOT = 0x01;
const FPDF_REVERSE_BYTE_ORDER = 0x10;
const loadErrors: Record<number, string> = { 1: 'unknown error', 2: 'file not found', 3: 'not a PDF or corrupt', 4: 'password protected', 5: 'unsupported security scheme', 6: 'page not found' };

/**
 * Names that make a document active or point outside it. Found in the bytes (linear scan) and by PDFium's own count,
 * which also sees inside compressed object streams. `/JS` and `/URL` are matched as whole names only.
 */
const activeNames = ['/JavaScript', '/JS', '/Launch', '/GoToR', '/GoToE', '/SubmitForm', '/ImportData', '/AcroForm', '/XFA', '/URL', '/RichMedia', '/EmbeddedFile'];
const nameEnd = new Set([0x20, 0x0a, 0x0d, 0x09, 0x0c, 0x00, 0x2f, 0x28, 0x3c, 0x5b, 0x3e, 0x5d, 0x29, 0x7b, 0x7d, 0x25]);

function findActiveName(data: Buffer): string | undefined {
  for (const name of activeNames) {
    let at = data.indexOf(name, 0, 'latin1');
    while (at !== -1) {
      const next = data[at + name.length];
      if (next === undefined || nameEnd.has(next)) return name;
      at = data.indexOf(name, at + 1, 'latin1');
    }
  }
  return undefined;
}

/** Drop this thread's instance after a failure the codec did not handle itself; the next decode makes a new one. */
export function forgetPdfium(): void {
  loading = undefined;
}

let loading: Promise<Pdfium> | undefined;

function pdfium(): Promise<Pdfium> {
  loading ??= (async () => {
    const require = createRequire(import.meta.url);
    const wasmBinary = readFileSync(require.resolve('@embedpdf/pdfium/pdfium.wasm'));
    const { init } = (await import('@embedpdf/pdfium')) as unknown as { init(o: object): Promise<{ pdfium: Pdfium }> };
    const { pdfium: m } = await init({ wasmBinary });
    m._PDFiumExt_Init();
    return m;
  })();
  return loading;
}

/** Load, check and (unless only the header is wanted) render one page. */
export async function decodePdf(task: DecodeTask): Promise<{ info: ContainerInfo; image: RawImage | undefined }> {
  const active = findActiveName(Buffer.from(task.data.buffer, task.data.byteOffset, task.data.byteLength));
  if (active) {
    throw new DecodeFailure('PP_UNSUPPORTED_MEDIA', `PDF refused: it contains ${active} (scripts, forms, embedded files and links to other files are never run, filled or fetched)`);
  }
  const m = await pdfium();
  const data = m.wasmExports.malloc(task.data.length);
  const size = m.wasmExports.malloc(8);
  let doc = 0;
  let page = 0;
  let bitmap = 0;
  try {
    if (!data || !size) throw new DecodeFailure('PP_TOO_MANY_PIXELS', 'The PDF does not fit in the decoder memory limit');
    m.HEAPU8.set(task.data, data);
    doc = m._FPDF_LoadMemDocument64(data, task.data.length, 0);
    if (!doc) {
      const why = loadErrors[m._FPDF_GetLastError()] ?? 'unknown error';
      throw new DecodeFailure('PP_UNDECODABLE', `The PDF could not be opened: ${why}`);
    }
    if (m._FPDF_GetFormType(doc) !== 0) throw new DecodeFailure('PP_UNSUPPORTED_MEDIA', 'PDF refused: it contains an interactive form');
    if (m._FPDFDoc_GetJavaScriptActionCount(doc) > 0) throw new DecodeFailure('PP_UNSUPPORTED_MEDIA', 'PDF refused: it contains JavaScript');
    const pages = m._FPDF_GetPageCount(doc);
    if (pages <= 0) throw new DecodeFailure('PP_UNDECODABLE', 'The PDF has no pages');
    if (pages > task.maxPages) throw new DecodeFailure('PP_TOO_MANY_PIXELS', `PDF declares ${pages} pages, over the limit of ${task.maxPages}`);
    if (task.page > pages) throw new DecodeFailure('PP_INVALID_PARAM', `Expected page between 1 and ${pages} but received ${task.page}`);
    if (!m._FPDF_GetPageSizeByIndexF(doc, task.page - 1, size)) throw new DecodeFailure('PP_UNDECODABLE', `PDF page ${task.page} has no size`);
    // Points at 72 dpi, after /Rotate: the size libvips' own PDF loader reports by default.
    const pointsWide = m.HEAPF32[size >> 2]!;
    const pointsHigh = m.HEAPF32[(size >> 2) + 1]!;
    if (!(pointsWide >= 1 && pointsHigh >= 1)) throw new DecodeFailure('PP_UNDECODABLE', `PDF page ${task.page} has an empty page box`);
    const width = Math.ceil(pointsWide);
    const height = Math.ceil(pointsHigh);
    if (width * height > task.maxPixels) {
      throw new DecodeFailure('PP_TOO_MANY_PIXELS', `PDF page is ${width}x${height} (${width * height} pixels at 72 dpi), over the limit of ${task.maxPixels} pixels`);
    }
    const info: ContainerInfo = { format: 'pdf', width, height, pages, hasAlpha: true, thumbnails: [] };
    if (task.infoOnly) return { info, image: undefined };

    const scale = targetScale(pointsWide, pointsHigh, task) ?? 1;
    const outWidth = Math.max(1, Math.round(pointsWide * scale));
    const outHeight = Math.max(1, Math.round(pointsHigh * scale));
    if (outWidth * outHeight > task.maxPixels) {
      throw new DecodeFailure('PP_TOO_MANY_PIXELS', `PDF page rendered at ${outWidth}x${outHeight} is over the limit of ${task.maxPixels} pixels`);
    }
    page = m._FPDF_LoadPage(doc, task.page - 1);
    if (!page) throw new DecodeFailure('PP_UNDECODABLE', `PDF page ${task.page} could not be loaded`);
    bitmap = m._FPDFBitmap_Create(outWidth, outHeight, 1);
    if (!bitmap) throw new DecodeFailure('PP_TOO_MANY_PIXELS', 'The rendered PDF page does not fit in the decoder memory limit');
    // Transparent paper: PNG output keeps it, and JPEG output flattens it like any other transparent input.
    m._FPDFBitmap_FillRect(bitmap, 0, 0, outWidth, outHeight, 0x00000000);
    m._FPDF_RenderPageBitmap(bitmap, page, 0, 0, outWidth, outHeight, 0, FPDF_ANNOT | FPDF_REVERSE_BYTE_ORDER);
    const buffer = m._FPDFBitmap_GetBuffer(bitmap);
    const stride = m._FPDFBitmap_GetStride(bitmap);
    const row = outWidth * 4;
    const out = new Uint8Array(row * outHeight);
    for (let y = 0; y < outHeight; y++) out.set(m.HEAPU8.subarray(buffer + y * stride, buffer + y * stride + row), y * row);
    return { info, image: { data: out, width: outWidth, height: outHeight, channels: 4, source: 'page' } };
  } finally {
    if (bitmap) m._FPDFBitmap_Destroy(bitmap);
    if (page) m._FPDF_ClosePage(page);
    if (doc) m._FPDF_CloseDocument(doc);
    if (data) m.wasmExports.free(data);
    if (size) m.wasmExports.free(size);
  }
}
