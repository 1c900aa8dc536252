/**
 * A seeded mutation fuzzer: `fuzzBases()` makes a few real images, `fuzzCase(bases, seed, index)` mutates one of them
 * deterministically, `fuzzRoutes` says where it is sent and `checkFuzzAnswer` what a correct answer is.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { photo } from '../images.js';
import { prng } from '../prng.js';
import { DEFAULT_WITHIN_MS } from './expectations.js';
import { crc32 } from '../formats/png.js';
import { jpegSegments } from '../formats/jpeg.js';
import { buildMultipart } from '../formats/multipart.js';

export type FuzzFormat = 'jpeg' | 'png' | 'webp' | 'gif';

export interface FuzzBase {
  name: string;
  format: FuzzFormat;
  data: Buffer;
}

/** A few real images, small so each request is quick: every lossy/lossless codec path the routes read. */
export async function fuzzBases(): Promise<FuzzBase[]> {
  const png = await photo(48, 32, 'png');
  const rgba = await sharp(png).ensureAlpha(0.6).png().toBuffer();
  const animated = await sharp([png, await sharp(png).flip().toBuffer(), await sharp(png).flop().toBuffer()], { join: { animated: true } }).gif().toBuffer();
  return [
    { name: 'jpeg', format: 'jpeg', data: await photo(48, 32) },
    { name: 'jpeg-progressive', format: 'jpeg', data: await sharp(png).jpeg({ progressive: true, quality: 80 }).toBuffer() },
    { name: 'png-rgb', format: 'png', data: png },
    { name: 'png-rgba-interlaced', format: 'png', data: await sharp(rgba).png({ progressive: true }).toBuffer() },
    { name: 'webp-lossy', format: 'webp', data: await photo(48, 32, 'webp') },
    { name: 'webp-lossless-alpha', format: 'webp', data: await sharp(rgba).webp({ lossless: true }).toBuffer() },
    { name: 'gif', format: 'gif', data: await sharp(png).gif().toBuffer() },
    { name: 'gif-animated', format: 'gif', data: animated },
  ];
}

/** A byte range that holds a header field worth overwriting. */
interface Field {
  what: string;
  offset: number;
  size: 1 | 2 | 4;
  littleEndian: boolean;
}

function headerFields(base: FuzzBase): Field[] {
  const data = base.data;
  const fields: Field[] = [];
  const be = (what: string, offset: number, size: 1 | 2 | 4) => fields.push({ what, offset, size, littleEndian: false });
  const le = (what: string, offset: number, size: 1 | 2 | 4) => fields.push({ what, offset, size, littleEndian: true });
  if (base.format === 'png') {
    be('IHDR.width', 16, 4);
    be('IHDR.height', 20, 4);
    be('IHDR.depth', 24, 1);
    be('IHDR.colourType', 25, 1);
    be('IHDR.interlace', 28, 1);
    be('IHDR.length', 8, 4);
    // Every chunk's length field.
    for (let i = 8; i + 8 <= data.length; ) {
      be(`chunk@${i}.length`, i, 4);
      i += 12 + data.readUInt32BE(i);
    }
  } else if (base.format === 'jpeg') {
    for (const segment of jpegSegments(data)) {
      be(`marker${segment.marker.toString(16)}@${segment.offset}.length`, segment.offset + 2, 2);
      if (segment.marker >= 0xc0 && segment.marker <= 0xc2) {
        be('SOF.precision', segment.offset + 4, 1);
        be('SOF.height', segment.offset + 5, 2);
        be('SOF.width', segment.offset + 7, 2);
        be('SOF.components', segment.offset + 9, 1);
        be('SOF.sampling0', segment.offset + 11, 1);
        be('SOF.table0', segment.offset + 12, 1);
      }
      if (segment.marker === 0xda) {
        be('SOS.components', segment.offset + 4, 1);
        be('SOS.table0', segment.offset + 6, 1);
        be('SOS.spectralStart', segment.offset + 2 + segment.length - 3, 1);
        be('SOS.spectralEnd', segment.offset + 2 + segment.length - 2, 1);
      }
      if (segment.marker === 0xc4) be('DHT.class', segment.offset + 4, 1);
      if (segment.marker === 0xdb) be('DQT.precision', segment.offset + 4, 1);
    }
  } else if (base.format === 'webp') {
    le('RIFF.size', 4, 4);
    le('chunk.size', 16, 4);
    const kind = data.toString('latin1', 12, 16);
    if (kind === 'VP8 ') {
      le('VP8.width', 26, 2);
      le('VP8.height', 28, 2);
      le('VP8.frameTag', 20, 4);
    } else if (kind === 'VP8L') {
      le('VP8L.dimensions', 21, 4);
      le('VP8L.signature', 20, 1);
    } else if (kind === 'VP8X') {
      le('VP8X.flags', 20, 1);
      le('VP8X.canvas', 24, 4);
    }
  } else {
    le('screen.width', 6, 2);
    le('screen.height', 8, 2);
    le('screen.flags', 10, 1);
    // Image descriptors and LZW code sizes of the first frames.
    let found = 0;
    for (let i = 13; i + 10 < data.length && found < 3; i++) {
      if (data[i] === 0x2c && data[i - 1] === 0x00) {
        le(`frame${found}.left`, i + 1, 2);
        le(`frame${found}.width`, i + 5, 2);
        le(`frame${found}.height`, i + 7, 2);
        le(`frame${found}.flags`, i + 9, 1);
        le(`frame${found}.lzwMinCodeSize`, i + 10, 1);
        found++;
      }
    }
  }
  return fields.filter((field) => field.offset + field.size <= data.length);
}

const interesting = [0, 1, 2, 3, 7, 8, 15, 16, 0x3f, 0x40, 0x7f, 0x80, 0xfe, 0xff, 0x100, 0x3fff, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

export interface FuzzCase {
  seed: number;
  index: number;
  base: string;
  /** What was done, in order: enough to read the case; `seed` and `index` regenerate it exactly. */
  mutations: string[];
  body: Buffer;
}

/** One case's own seed from the run seed and the case index (so any case replays alone). */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Mutate one base image deterministically: 1-3 of bit flips, byte overwrites, truncation, chunk duplication, header fields. */
export function fuzzCase(bases: readonly FuzzBase[], seed: number, index: number): FuzzCase {
  const random = prng(caseSeed(seed, index));
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const base = pick(bases);
  let data = Buffer.from(base.data);
  const fields = headerFields(base);
  const mutations: string[] = [];
  const count = 1 + int(3);
  for (let m = 0; m < count && data.length > 0; m++) {
    const kind = pick(['bitflip', 'bitflip', 'overwrite', 'truncate', 'duplicate', 'header', 'header', 'header'] as const);
    switch (kind) {
      case 'bitflip': {
        const flips = 1 + int(8);
        const at: number[] = [];
        for (let i = 0; i < flips; i++) {
          const offset = int(data.length);
          const bit = int(8);
          data[offset]! ^= 1 << bit;
          at.push(offset * 8 + bit);
        }
        mutations.push(`bitflip bits ${at.join(',')}`);
        break;
      }
      case 'overwrite': {
        const offset = int(data.length);
        const length = Math.min(1 + int(16), data.length - offset);
        const value = random() < 0.5 ? pick([0x00, 0xff, 0x7f, 0x80]) : -1;
        for (let i = 0; i < length; i++) data[offset + i] = value >= 0 ? value : int(256);
        mutations.push(`overwrite ${length} bytes at ${offset} with ${value >= 0 ? `0x${value.toString(16)}` : 'random'}`);
        break;
      }
      case 'truncate': {
        const length = int(data.length);
        data = data.subarray(0, length);
        mutations.push(`truncate to ${length}`);
        break;
      }
      case 'duplicate': {
        const start = int(data.length);
        const length = Math.min(1 + int(512), data.length - start);
        const at = int(data.length + 1);
        data = Buffer.concat([data.subarray(0, at), data.subarray(start, start + length), data.subarray(at)]);
        mutations.push(`duplicate ${length} bytes from ${start} at ${at}`);
        break;
      }
      case 'header': {
        const field = fields.length > 0 ? pick(fields) : undefined;
        if (!field || field.offset + field.size > data.length) {
          mutations.push('header (no field left)');
          break;
        }
        const max = field.size === 4 ? 0xffffffff : field.size === 2 ? 0xffff : 0xff;
        const value = (random() < 0.7 ? pick(interesting) : int(max + 1)) & max;
        if (field.size === 1) data[field.offset] = value;
        else if (field.size === 2) field.littleEndian ? data.writeUInt16LE(value, field.offset) : data.writeUInt16BE(value, field.offset);
        else field.littleEndian ? data.writeUInt32LE(value >>> 0, field.offset) : data.writeUInt32BE(value >>> 0, field.offset);
        let note = `header ${field.what}=${value}`;
        // Half the time keep the PNG IHDR CRC right, so the decoder gets past the checksum to the new value.
        if (base.format === 'png' && field.what.startsWith('IHDR.') && field.what !== 'IHDR.length' && random() < 0.5 && data.length >= 33) {
          data.writeUInt32BE(crc32(data.subarray(12, 29)), 29);
          note += ' (CRC fixed)';
        }
        mutations.push(note);
        break;
      }
    }
  }
  return { seed, index, base: base.name, mutations, body: data };
}

export interface FuzzRoute {
  url: string;
  /** multipart: the body goes in this field; raw: it is the request body. */
  mode: 'multipart' | 'raw';
  field?: string;
  /** Every 200 from this route has this Content-Type (otherwise any image/*). */
  mime?: string;
}

export const fuzzRoutes: readonly FuzzRoute[] = [
  { url: '/', mode: 'multipart', field: 'img', mime: 'image/jpeg' },
  { url: '/resize?width=100', mode: 'raw' },
  { url: '/crop?width=40&height=40&type=webp', mode: 'multipart', field: 'file', mime: 'image/webp' },
  { url: '/pipeline?operations=' + encodeURIComponent('[{"operation":"autorotate"},{"operation":"fit","params":{"width":32,"height":32,"type":"png"}}]'), mode: 'raw', mime: 'image/png' },
];

/** The request for one case on one route: method, url, headers and body, ready for inject() or fetch(). */
export function fuzzRequest(route: FuzzRoute, body: Buffer): { method: 'POST'; url: string; headers: Record<string, string>; payload: Buffer } {
  if (route.mode === 'raw') return { method: 'POST', url: route.url, headers: { 'content-type': 'application/octet-stream' }, payload: body };
  const form = buildMultipart([{ name: route.field ?? 'img', data: body, filename: 'fuzz.bin', contentType: 'application/octet-stream' }]);
  return { method: 'POST', url: route.url, headers: { 'content-type': form.contentType }, payload: form.body };
}

export interface Answer {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: Buffer;
}

/** What is wrong with an answer to a fuzz case, or undefined when it is a 200 image or a 4xx problem+json. */
export async function checkFuzzAnswer(route: FuzzRoute, answer: Answer): Promise<string | undefined> {
  const type = String(answer.headers['content-type'] ?? '');
  if (answer.statusCode >= 500) return `status ${answer.statusCode}: ${answer.body.toString('utf8', 0, 300)}`;
  if (answer.statusCode === 200) {
    if (!type.startsWith('image/')) return `200 with Content-Type ${type}`;
    if (route.mime && type !== route.mime) return `200 with Content-Type ${type}, expected ${route.mime}`;
    if (Number(answer.headers['content-length']) !== answer.body.length) return `Content-Length ${String(answer.headers['content-length'])} but ${answer.body.length} bytes`;
    try {
      const meta = await sharp(answer.body).metadata();
      if (`image/${meta.format}` !== type) return `200 says ${type} but the body is ${meta.format}`;
      if (String(meta.width) !== String(answer.headers['image-width']) || String(meta.height) !== String(answer.headers['image-height'])) {
        return `Image-Width/Height ${String(answer.headers['image-width'])}x${String(answer.headers['image-height'])} but the body is ${meta.width}x${meta.height}`;
      }
    } catch (err) {
      return `200 whose body does not decode: ${(err as Error).message}`;
    }
    return undefined;
  }
  if (answer.statusCode < 400) return `unexpected status ${answer.statusCode}`;
  if (type !== 'application/problem+json; charset=utf-8') return `${answer.statusCode} with Content-Type ${type}`;
  try {
    const problem = JSON.parse(answer.body.toString('utf8')) as { status?: unknown; code?: unknown };
    if (problem.status !== answer.statusCode || typeof problem.code !== 'string' || !problem.code.startsWith('PP_')) {
      return `${answer.statusCode} with a problem body that does not match: ${answer.body.toString('utf8', 0, 300)}`;
    }
  } catch {
    return `${answer.statusCode} whose body is not JSON`;
  }
  return undefined;
}

/** Send one request to a running server over HTTP and collect the answer the checks read. */
export async function fetchAnswer(base: string, request: ReturnType<typeof fuzzRequest>): Promise<Answer> {
  const response = await fetch(base + request.url, { method: request.method, headers: request.headers, body: new Uint8Array(request.payload) });
  const headers: Answer['headers'] = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  return { statusCode: response.status, headers, body: Buffer.from(await response.arrayBuffer()) };
}

/** A fresh random run seed (for the long script; the test pins one). */
export function randomSeed(): number {
  return randomBytes(4).readUInt32BE(0);
}

export interface FuzzOutcome {
  route: FuzzRoute;
  status: number;
  ms: number;
  /** Problem code of a 4xx, if any. */
  code?: string;
  /** What is wrong, if anything (a 5xx, a malformed answer, too slow). */
  failure?: string;
}

/** Send one case to every route through `send` (inject() in tests, fetch() against a running server) and judge each answer. */
export async function runFuzzCase(send: (request: ReturnType<typeof fuzzRequest>) => Promise<Answer>, fuzz: FuzzCase, slowMs = DEFAULT_WITHIN_MS): Promise<FuzzOutcome[]> {
  const outcomes: FuzzOutcome[] = [];
  for (const route of fuzzRoutes) {
    const start = performance.now();
    let answer: Answer;
    try {
      answer = await send(fuzzRequest(route, fuzz.body));
    } catch (err) {
      outcomes.push({ route, status: 0, ms: performance.now() - start, failure: `no answer: ${(err as Error).message}` });
      continue;
    }
    const ms = performance.now() - start;
    let code: string | undefined;
    if (answer.statusCode >= 400) {
      try {
        code = (JSON.parse(answer.body.toString('utf8')) as { code?: string }).code;
      } catch {
        // checkFuzzAnswer reports it
      }
    }
    const failure = (await checkFuzzAnswer(route, answer)) ?? (ms > slowMs ? `took ${ms.toFixed(0)} ms (bound ${slowMs} ms)` : undefined);
    outcomes.push({ route, status: answer.statusCode, ms, ...(code ? { code } : {}), ...(failure ? { failure } : {}) });
  }
  return outcomes;
}

/** One line that says what failed and how to replay it. */
export function describeFuzzFailure(fuzz: FuzzCase, outcome: FuzzOutcome): string {
  return (
    `case ${fuzz.index} (seed ${fuzz.seed}) base=${fuzz.base} [${fuzz.mutations.join('; ')}] ${fuzz.body.length} bytes → ` +
    `POST ${outcome.route.url} (${outcome.route.mode}): ${outcome.failure}\n` +
    `  replay: node --import tsx scripts/fuzz.ts --seed ${fuzz.seed} --case ${fuzz.index}`
  );
}
