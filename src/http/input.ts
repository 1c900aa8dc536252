/**
 * Reading the upload, always into memory: a streamed multipart file part (fields img, file or image) or a raw
 * body. Bytes are counted while they arrive and the request is refused as soon as the limit is crossed; an upload
 * that arrives too slowly is ended by the watchdog with 408, so it cannot hold its place for long.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ImageError } from '../core/errors.js';
import { timed } from './state.js';

const fileFields = ['img', 'file', 'image'] as const;

/**
 * RFC 2046 allows 1-70 characters and every client we know stays within that (browsers, curl, Go, Python,
 * undici: 32-60). Longer ones are tolerated up to well below busboy's hard limit (a 256-byte search needle, i.e.
 * 252 characters, past which it throws instead of answering).
 */
const MAX_BOUNDARY_LENGTH = 200;

/** Throws PP_BAD_REQUEST for a multipart boundary the parser cannot take, before the parser sees it. */
export function checkMultipartBoundary(contentType: string): void {
  // Linear: a quoted value is looked for over at most 254 characters (a longer one is refused all the same, read
  // unquoted), and an unquoted one ends at the next `;`, so no character is scanned from more than two starts.
  for (const match of contentType.matchAll(/;\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.){0,254})"|([^;\s]*))/gi)) {
    const boundary = match[1] === undefined ? (match[2] ?? '') : match[1].replace(/\\(.)/g, '$1');
    if (boundary.length > MAX_BOUNDARY_LENGTH) {
      throw new ImageError(
        'PP_BAD_REQUEST',
        `Multipart boundary is too long: ${boundary.length} characters, over the limit of ${MAX_BOUNDARY_LENGTH} (RFC 2046 allows 1 to 70)`,
      );
    }
  }
}

/** How fast an upload must arrive. */
export interface UploadPace {
  /** Bytes per second an upload must average once its grace is over; 0 turns the rate check off. */
  minBytesPerSecond: number;
  /** Seconds at the start of an upload that do not count against its rate (TCP slow start, a client opening its file). */
  graceSeconds: number;
  /** Seconds the whole body may take, however fast it arrives. */
  bodyTimeoutSeconds: number;
}

/**
 * 16 KiB/s (128 kbit/s) is a third of a 3G uplink (384 kbit/s), yet holding a receive place then costs an attacker
 * real bandwidth, where a slowloris sends a byte now and then. An upload must have sent minBytesPerSecond x (elapsed
 * - grace) bytes, so the 5 s grace (TCP slow start, a client opening its file) is a credit of 80 KiB, not a free
 * pass. 60 s matches the request timeout and lets a 50 MiB upload (the default limit) through at 0.85 MiB/s.
 */
export const defaultUploadPace: Readonly<UploadPace> = Object.freeze({ minBytesPerSecond: 16 * 1024, graceSeconds: 5, bodyTimeoutSeconds: 60 });

/** When the receive gate is full, an upload behind the rate may be ended only after it had this long to show its pace. */
const EVICTABLE_AFTER_MS = 1_000;
/** How often uploads are checked: the rate and the deadline hold to within this. */
const CHECK_EVERY_MS = 250;

interface Watch {
  readonly request: FastifyRequest;
  readonly started: number;
  /** Socket bytes read when the body began; undefined where there is no real socket (inject). */
  readonly baseline: number | undefined;
  readonly controller: AbortController;
  /** Gives the receive place back; idempotent. */
  readonly release: () => void;
  /** The body is complete: stop watching and give the place back, as the processing admission takes over. */
  readonly finish: () => void;
}

/** The watch of each request being received, so the body readers below can see its signal and report completion. */
const watches = new WeakMap<FastifyRequest, Watch>();

export interface UploadWatchdog {
  /** Watch `request`'s body from now; `release` gives back its receive place when the body is complete or ended. */
  watch(request: FastifyRequest, release: () => void): void;
  /** The request is answered (or its body complete): stop watching and release its place. */
  stop(request: FastifyRequest): void;
  /** End the upload furthest behind the minimum rate, ignoring its grace; false when none is. For a full gate. */
  makeRoom(): boolean;
  close(): void;
}

export function createUploadWatchdog(pace: UploadPace): UploadWatchdog {
  const { minBytesPerSecond, graceSeconds, bodyTimeoutSeconds } = pace;
  const active = new Set<Watch>();
  let timer: NodeJS.Timeout | undefined;

  const received = (watch: Watch): number | undefined => {
    const read = (watch.request.raw.socket as Socket | null)?.bytesRead;
    return typeof read === 'number' && watch.baseline !== undefined ? read - watch.baseline : undefined;
  };

  const stop = (watch: Watch) => {
    active.delete(watch);
    watches.delete(watch.request);
    watch.release();
    if (active.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  const end = (watch: Watch, detail: string) => {
    stop(watch);
    watch.controller.abort(new ImageError('PP_UPLOAD_TOO_SLOW', detail));
  };

  const check = () => {
    const now = performance.now();
    for (const watch of active) {
      const seconds = (now - watch.started) / 1000;
      if (seconds >= bodyTimeoutSeconds) {
        end(watch, `Upload not complete after ${bodyTimeoutSeconds} s, the body deadline`);
        continue;
      }
      const bytes = received(watch);
      const owed = minBytesPerSecond * (seconds - graceSeconds);
      if (bytes !== undefined && owed > 0 && bytes < owed) {
        end(watch, `Upload too slow: ${bytes} bytes in ${seconds.toFixed(1)} s, under the minimum of ${minBytesPerSecond} bytes per second after the first ${graceSeconds} s`);
      }
    }
  };

  return {
    watch(request, release) {
      const read = (request.raw.socket as Socket | null)?.bytesRead;
      const watch: Watch = {
        request,
        started: performance.now(),
        baseline: typeof read === 'number' ? read : undefined,
        controller: new AbortController(),
        release,
        finish: () => stop(watch),
      };
      active.add(watch);
      watches.set(request, watch);
      timer ??= setInterval(check, CHECK_EVERY_MS).unref();
    },
    stop(request) {
      const watch = watches.get(request);
      if (watch) stop(watch);
    },
    makeRoom() {
      const now = performance.now();
      let slowest: { watch: Watch; rate: number } | undefined;
      for (const watch of active) {
        const ms = now - watch.started;
        const bytes = received(watch);
        if (bytes === undefined || ms < EVICTABLE_AFTER_MS) continue;
        const rate = bytes / (ms / 1000);
        if (rate < minBytesPerSecond && (!slowest || rate < slowest.rate)) slowest = { watch, rate };
      }
      if (!slowest) return false;
      end(slowest.watch, `Upload too slow: ${Math.floor(slowest.rate)} bytes per second, under the minimum of ${minBytesPerSecond}, while other uploads were waiting`);
      return true;
    },
    close() {
      for (const watch of active) stop(watch);
    },
  };
}

/** Resolves with `work`, or rejects with the signal's reason (PP_UPLOAD_TOO_SLOW) as soon as it aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    // Settles `work` quietly if it fails after the abort won; the connection is closed by then.
    work.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  });
}

/**
 * Collects a body into one buffer allocated once from the declared Content-Length (capped at the upload limit), so
 * each arriving chunk is copied once and can be collected at once, instead of every chunk being held until a final
 * concatenation. Without a usable length (chunked), or if more arrives than declared, it falls back to a chunk list.
 */
class BodyCollector {
  private buffer: Buffer | undefined;
  private readonly chunks: Buffer[] = [];
  private length = 0;

  constructor(declared: number | undefined, maxBytes: number) {
    const capacity = declared !== undefined && Number.isSafeInteger(declared) && declared > 0 ? Math.min(declared, maxBytes) : 0;
    // allocUnsafe: every byte returned is written first; only [0, length) is ever handed on.
    if (capacity > 0) this.buffer = Buffer.allocUnsafe(capacity);
  }

  add(chunk: Buffer): void {
    if (this.buffer && this.length + chunk.length <= this.buffer.length) {
      chunk.copy(this.buffer, this.length);
    } else {
      if (this.buffer) this.chunks.push(this.buffer.subarray(0, this.length));
      this.buffer = undefined;
      this.chunks.push(chunk);
    }
    this.length += chunk.length;
  }

  result(): Buffer {
    return this.buffer ? this.buffer.subarray(0, this.length) : Buffer.concat(this.chunks, this.length);
  }
}

/** The whole raw body, refused past `maxBytes`, ended by the watchdog's signal. */
function readRawBody(request: FastifyRequest, payload: Readable, maxBytes: number): Promise<Buffer> {
  const watch = watches.get(request);
  const declared = request.headers['content-length'] === undefined ? undefined : Number(request.headers['content-length']);
  return new Promise<Buffer>((resolve, reject) => {
    const collector = new BodyCollector(declared, maxBytes);
    let length = 0;
    const settle = (error: unknown, body?: Buffer) => {
      payload.off('data', onData);
      payload.off('end', onEnd);
      payload.off('error', onClose);
      payload.off('close', onClose);
      watch?.controller.signal.removeEventListener('abort', onAbort);
      if (body) {
        watch?.finish();
        resolve(body);
      } else {
        reject(error);
      }
    };
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > maxBytes) settle(new ImageError('PP_PAYLOAD_TOO_LARGE', `Upload is over the limit of ${maxBytes} bytes`));
      else collector.add(chunk);
    };
    const onEnd = () => {
      if (declared !== undefined && declared !== length) settle(new ImageError('PP_BAD_REQUEST', 'Request body size did not match Content-Length'));
      else settle(undefined, collector.result());
    };
    // Node reports a client that hung up mid-body as an `aborted` error, then a close.
    const onClose = (cause?: unknown) => settle(new ImageError('PP_CLIENT_GONE', 'The client closed the connection during the upload', { cause }));
    const onAbort = () => settle(watch?.controller.signal.reason);
    if (watch?.controller.signal.aborted) return onAbort();
    watch?.controller.signal.addEventListener('abort', onAbort, { once: true });
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onClose);
    payload.on('close', onClose);
    payload.resume();
  });
}

/** Raw bodies of any non-multipart type are buffered here; the bytes, not the header, decide what the image is. */
export function registerRawBodyParser(app: FastifyInstance, maxBytes: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request: FastifyRequest, payload: Readable) => timed(request, 'receive', () => readRawBody(request, payload, maxBytes)));
}

/**
 * The file part in one buffer sized from the request's Content-Length, which bounds the file (part.toBuffer() keeps
 * every chunk, and the socket buffers they are slices of, until it concatenates them). Past `maxBytes` busboy
 * truncates the part: the rest is drained and FST_REQ_FILE_TOO_LARGE thrown, as toBuffer() does.
 */
async function fileToBuffer(request: FastifyRequest, part: MultipartFile, maxBytes: number): Promise<Buffer> {
  const declared = request.headers['content-length'] === undefined ? undefined : Number(request.headers['content-length']);
  const collector = new BodyCollector(declared, maxBytes);
  let truncated = false;
  for await (const chunk of part.file as AsyncIterable<Buffer>) {
    if (part.file.truncated) truncated = true;
    if (!truncated) collector.add(chunk);
  }
  if (truncated || part.file.truncated) throw new request.server.multipartErrors.RequestFileTooLargeError();
  return collector.result();
}

async function readMultipart(request: FastifyRequest, maxBytes: number): Promise<Buffer> {
  // Read every part: a second file must be refused (files: 1 makes the iterator throw FST_FILES_LIMIT), not ignored.
  // Text fields are never used, so each is cut at 1 KiB: the upload's memory stays its file plus a little.
  let data: Buffer | undefined;
  let wrongField: string | undefined;
  for await (const part of request.parts({ limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 1024, parts: 30 } })) {
    if (part.type !== 'file') continue;
    if (!(fileFields as readonly string[]).includes(part.fieldname)) {
      wrongField ??= part.fieldname;
      part.file.resume();
      continue;
    }
    data = await fileToBuffer(request, part, maxBytes);
  }
  if (data === undefined) {
    if (wrongField !== undefined) {
      throw new ImageError('PP_MISSING_FILE', `Expected the image in multipart field img, file or image but received field ${JSON.stringify(wrongField)}`);
    }
    throw new ImageError('PP_MISSING_FILE', `No file in the multipart body: send the image in field ${fileFields.join(', ')}`);
  }
  if (data.length === 0) throw new ImageError('PP_MISSING_FILE', 'The uploaded file is empty');
  return data;
}

export async function readUpload(request: FastifyRequest, maxBytes: number): Promise<Buffer> {
  if (request.isMultipart()) {
    const watch = watches.get(request);
    const data = await untilAborted(readMultipart(request, maxBytes), watch?.controller.signal);
    watch?.finish();
    return data;
  }
  const body = request.body;
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new ImageError('PP_MISSING_FILE', 'No image in the request: POST multipart/form-data with field img (or file), or the raw image bytes');
  }
  return body;
}
