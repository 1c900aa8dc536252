/**
 * Shared by the decoder tests: the independent reference tools (Debian's heif-enc/heif-convert, pdftoppm, ImageMagick),
 * a PDF writer, and ISOBMFF surgery to give a HEIF an irot/imir property or a hostile header. Nothing here calls the
 * code under test.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { Raw } from '../../testkit/images.js';

const run = promisify(execFile);

/** The real ImageMagick: /usr/local/bin/convert may be a stand-in on development machines. */
export const MAGICK = existsSync('/usr/bin/convert') ? '/usr/bin/convert' : 'convert';
const tools = { heifEnc: '/usr/bin/heif-enc', heifConvert: '/usr/bin/heif-convert', pdftoppm: '/usr/bin/pdftoppm', magick: '/usr/bin/convert', rsvgConvert: '/usr/bin/rsvg-convert' };

/**
 * Why the reference tools are missing, for a loud skip; under CI a missing tool is a failure (the test asserts).
 * scripts/ensure-test-tools.sh installs them (Debian: libheif-examples, poppler-utils, imagemagick, librsvg2-bin).
 */
export function missingTools(...names: (keyof typeof tools)[]): string | false {
  const missing = names.filter((n) => !existsSync(tools[n])).map((n) => tools[n]);
  if (missing.length === 0) return false;
  const why = `MISSING REFERENCE TOOLS ${missing.join(', ')}: run scripts/ensure-test-tools.sh as root`;
  if (process.env.CI) throw new Error(why);
  console.error(`SKIPPING: ${why}`);
  return why;
}

/** Run a tool in a fresh temporary directory holding `inputs`; returns the named outputs. */
export async function withFiles(inputs: Record<string, Buffer>, commands: [string, ...string[]][], outputs: string[]): Promise<Buffer[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pp-decoders-'));
  try {
    for (const [name, data] of Object.entries(inputs)) await writeFile(join(dir, name), data);
    for (const [cmd, ...args] of commands) await run(cmd, args, { cwd: dir, maxBuffer: 64 * 2 ** 20 });
    return await Promise.all(outputs.map((o) => readFile(join(dir, o))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** HEIC from a PNG by libheif's own encoder (x265); `thumb` adds an embedded thumbnail of that longest side. */
export async function heifEncode(png: Buffer, options: { quality?: number; thumb?: number; lossless?: boolean } = {}): Promise<Buffer> {
  const args = ['-q', String(options.quality ?? 90), '-o', 'out.heic', 'in.png'];
  if (options.thumb) args.unshift('-t', String(options.thumb));
  if (options.lossless) args.unshift('-L', '-p', 'chroma=444');
  const [heic] = await withFiles({ 'in.png': png }, [[tools.heifEnc, ...args]], ['out.heic']);
  return heic!;
}

/** heif-convert's decode (primary image, its transformations applied) as raw pixels. */
export async function heifConvert(heic: Buffer, channels: 3 | 4): Promise<Raw> {
  const [png] = await withFiles({ 'in.heic': heic }, [[tools.heifConvert, 'in.heic', 'out.png']], ['out.png']);
  return toRaw(png!, channels);
}

/** pdftoppm (poppler) rendering of one page scaled to exactly width x height, on white. */
export async function pdftoppm(pdf: Buffer, page: number, width: number, height: number): Promise<Raw> {
  const args = ['-png', '-f', String(page), '-l', String(page), '-singlefile', '-scale-to-x', String(width), '-scale-to-y', String(height), 'in.pdf', 'out'];
  const [png] = await withFiles({ 'in.pdf': pdf }, [[tools.pdftoppm, ...args]], ['out.png']);
  return toRaw(png!, 3);
}

/**
 * Convert with ImageMagick: `convert [before...] <inName> [args...] <outName>`. `inName` may carry a frame suffix
 * (`in.ico[0]`) and `outName` a format prefix (`BMP3:out.bmp`); the files themselves are in.<ext> and out.<ext>.
 */
export async function magick(input: Buffer, inName: string, outName: string, args: string[] = [], before: string[] = []): Promise<Buffer> {
  const inFile = inName.replace(/\[\d+\]$/, '');
  const outFile = outName.replace(/^[A-Z0-9]+:/, '');
  const [out] = await withFiles({ [inFile]: input }, [[MAGICK, ...before, inName, ...args, outName]], [outFile]);
  return out!;
}

/** Raw 8-bit pixels of an encoded image with exactly `channels` channels (sharp only decodes the reference PNG). */
export async function toRaw(png: Buffer, channels: 3 | 4): Promise<Raw> {
  let pipeline = sharp(png);
  pipeline = channels === 4 ? pipeline.ensureAlpha() : pipeline.removeAlpha();
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Composite RGBA on white, as pdftoppm draws on paper; the decoder's alpha is not premultiplied. */
export function onWhite(img: Raw): Raw {
  if (img.channels !== 4) return img;
  const out = new Uint8Array(img.width * img.height * 3);
  for (let i = 0, o = 0; o < out.length; i += 4, o += 3) {
    const a = img.data[i + 3]! / 255;
    for (let c = 0; c < 3; c++) out[o + c] = Math.round(img.data[i + c]! * a + 255 * (1 - a));
  }
  return { data: out, width: img.width, height: img.height, channels: 3 };
}

// ---------------------------------------------------------------------------------------------------------------
// PDF writer: enough of ISO 32000 to make real documents (xref table with exact offsets) with chosen objects.

export interface PdfPage {
  /** Content stream operators. */
  content: string;
  box?: [number, number, number, number];
  /** Extra entries for the page dictionary, e.g. '/Rotate 90'. */
  extra?: string;
  /** Deflate the content stream (/FlateDecode): a small file that is a lot of work. */
  compress?: boolean;
}

/** A PDF with these pages; `catalogExtra` adds catalog entries, `objects` adds numbered objects after the pages. */
export function buildPdf(pages: readonly PdfPage[], options: { catalogExtra?: string; objects?: string[]; header?: string } = {}): Buffer {
  const objects: string[] = [];
  const pageIds = pages.map((_, i) => 3 + i * 2);
  objects[1] = `<< /Type /Catalog /Pages 2 0 R ${options.catalogExtra ?? ''} >>`;
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  pages.forEach((page, i) => {
    const box = page.box ?? [0, 0, 612, 792];
    objects[pageIds[i]!] = `<< /Type /Page /Parent 2 0 R /MediaBox [${box.join(' ')}] /Contents ${pageIds[i]! + 1} 0 R ${page.extra ?? ''} >>`;
    const stream = page.compress ? deflateSync(Buffer.from(page.content, 'latin1')).toString('latin1') : page.content;
    const filter = page.compress ? ' /Filter /FlateDecode' : '';
    objects[pageIds[i]! + 1] = `<< /Length ${Buffer.byteLength(stream, 'latin1')}${filter} >>\nstream\n${stream}\nendstream`;
  });
  for (const extra of options.objects ?? []) objects.push(extra);
  return serialisePdf(objects, options.header);
}

function serialisePdf(objects: string[], header = '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n'): Buffer {
  const parts: string[] = [header];
  let offset = Buffer.byteLength(header, 'latin1');
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    const text = `${id} 0 obj\n${objects[id]}\nendobj\n`;
    offsets[id] = offset;
    parts.push(text);
    offset += Buffer.byteLength(text, 'latin1');
  }
  const xref = [`xref\n0 ${objects.length}\n`, '0000000000 65535 f \n', ...offsets.slice(1).map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)].join('');
  parts.push(xref, `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${offset}\n%%EOF\n`);
  return Buffer.from(parts.join(''), 'latin1');
}

/** Vector art on a transparent page: coloured shapes, a curve, a semi-transparent overlay, nothing painted behind. */
export function artContent(seed = 0): string {
  const c = (n: number) => (((n + seed) * 37) % 100) / 100;
  return [
    `${c(1)} ${c(2)} ${c(3)} rg 72 400 300 250 re f`,
    `${c(4)} 0.2 0.8 rg 300 150 200 180 re f`,
    '0 0 0 RG 6 w 100 100 m 200 500 400 50 520 700 c S',
    '0.1 0.6 0.2 rg 150 650 m 250 760 l 350 650 l h f',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// ISOBMFF surgery on heif-enc output (one primary hvc1 item, iloc offsets absolute).

interface Box {
  type: string;
  start: number;
  header: number;
  size: number;
}

function boxes(buf: Buffer, start: number, end: number): Box[] {
  const out: Box[] = [];
  for (let at = start; at + 8 <= end; ) {
    const size = buf.readUInt32BE(at);
    out.push({ type: buf.toString('latin1', at + 4, at + 8), start: at, header: 8, size });
    at += size;
  }
  return out;
}

function find(list: Box[], type: string): Box {
  const box = list.find((b) => b.type === type);
  if (!box) throw new Error(`no ${type} box`);
  return box;
}

/**
 * Add a property box (e.g. irot, imir) to the primary item: append it to ipco, associate it in ipma, grow every
 * enclosing box and shift iloc's absolute offsets by the bytes inserted.
 */
export function addHeifProperty(heic: Buffer, property: Buffer): Buffer {
  const top = boxes(heic, 0, heic.length);
  const meta = find(top, 'meta');
  const metaKids = boxes(heic, meta.start + 12, meta.start + meta.size);
  const pitm = find(metaKids, 'pitm');
  const primary = heic.readUInt16BE(pitm.start + 12);
  const iprp = find(metaKids, 'iprp');
  const iprpKids = boxes(heic, iprp.start + 8, iprp.start + iprp.size);
  const ipco = find(iprpKids, 'ipco');
  const ipma = find(iprpKids, 'ipma');
  const index = boxes(heic, ipco.start + 8, ipco.start + ipco.size).length + 1;
  if (heic.readUInt8(ipma.start + 8) !== 0 || (heic.readUInt8(ipma.start + 11) & 1) !== 0) throw new Error('ipma version/flags not handled');
  // Find the primary's entry in ipma (version 0, 8-bit indices).
  let at = ipma.start + 16;
  const count = heic.readUInt32BE(ipma.start + 12);
  let entry = -1;
  for (let i = 0; i < count; i++) {
    const id = heic.readUInt16BE(at);
    const n = heic.readUInt8(at + 2);
    if (id === primary) entry = at;
    at += 3 + n;
  }
  if (entry < 0) throw new Error('primary has no ipma entry');
  const n = heic.readUInt8(entry + 2);
  const insertIpco = ipco.start + ipco.size;
  const insertIpma = entry + 3 + n;
  // Bytes are inserted at two places, ipco's end (before ipma) and inside ipma.
  const out = Buffer.concat([
    heic.subarray(0, insertIpco),
    property,
    heic.subarray(insertIpco, insertIpma),
    Buffer.from([0x80 | index]),
    heic.subarray(insertIpma),
  ]);
  const grown = property.length + 1;
  const grow = (offset: number, by: number) => out.writeUInt32BE(out.readUInt32BE(offset) + by, offset);
  grow(meta.start, grown);
  grow(iprp.start, grown);
  grow(ipco.start, property.length);
  grow(ipma.start + property.length, 1);
  out.writeUInt8(n + 1, entry + property.length + 2);
  shiftIloc(out, meta.start, grown);
  return out;
}

/** Add `by` to every absolute offset in iloc (construction method 0: offsets into the file). */
function shiftIloc(buf: Buffer, metaStart: number, by: number): void {
  const meta = boxes(buf, metaStart, metaStart + buf.readUInt32BE(metaStart))[0]!;
  const iloc = find(boxes(buf, meta.start + 12, meta.start + meta.size), 'iloc');
  let at = iloc.start + 8;
  const version = buf.readUInt8(at);
  at += 4;
  const sizes = buf.readUInt16BE(at);
  at += 2;
  const offsetSize = sizes >> 12;
  const lengthSize = (sizes >> 8) & 15;
  const baseSize = (sizes >> 4) & 15;
  const indexSize = version >= 1 ? sizes & 15 : 0;
  const count = version < 2 ? buf.readUInt16BE(at) : buf.readUInt32BE(at);
  at += version < 2 ? 2 : 4;
  const readN = (size: number) => (size === 0 ? 0 : size === 4 ? buf.readUInt32BE(at) : Number(buf.readBigUInt64BE(at)));
  const writeN = (size: number, v: number) => (size === 4 ? buf.writeUInt32BE(v, at) : buf.writeBigUInt64BE(BigInt(v), at));
  for (let i = 0; i < count; i++) {
    at += version < 2 ? 2 : 4;
    const method = version >= 1 ? buf.readUInt16BE(at) & 15 : 0;
    if (version >= 1) at += 2;
    at += 2; // data_reference_index
    const base = readN(baseSize);
    if (baseSize > 0 && method === 0) writeN(baseSize, base + by);
    at += baseSize;
    const extents = buf.readUInt16BE(at);
    at += 2;
    for (let e = 0; e < extents; e++) {
      at += indexSize;
      if (baseSize === 0 && method === 0) writeN(offsetSize, readN(offsetSize) + by);
      at += offsetSize + lengthSize;
    }
  }
}

/** A full box of one byte payload after version/flags would be 13 bytes; irot and imir are plain boxes of one byte. */
export function oneByteBox(type: 'irot' | 'imir', value: number): Buffer {
  const box = Buffer.alloc(9);
  box.writeUInt32BE(9, 0);
  box.write(type, 4, 'latin1');
  box.writeUInt8(value, 8);
  return box;
}

/** Overwrite every ispe (the grid's and its tiles') with another size; same byte count, so no offsets move. */
export function withIspe(heic: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(heic);
  let found = 0;
  for (let at = out.indexOf('ispe', 0, 'latin1'); at >= 0; at = out.indexOf('ispe', at + 4, 'latin1'), found++) {
    out.writeUInt32BE(width, at + 8);
    out.writeUInt32BE(height, at + 12);
  }
  if (found === 0) throw new Error('no ispe');
  return out;
}
