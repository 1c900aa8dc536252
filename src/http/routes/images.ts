/** Image routes, generated from the operation registry (POST / is the seed operation's path), plus /pipeline and /info. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { ImageError } from '../../core/errors.js';
import type { DecodePolicy, Limits } from '../../core/limits.js';
import { operations } from '../../core/operations/index.js';
import { checkKnownParams } from '../../core/imaginary-params.js';
import { asksForAvif, execute, ignoredParams, info, prepare, type PreparedStep, type Step } from '../../core/pipeline.js';
import { parseOperations } from '../../core/pipeline-json.js';
import { findPreset, presetOperation, type Presets } from '../../core/presets.js';
import { fetchRemoteImages, remoteImageUrls } from '../../core/remote-images.js';
import { cacheControlFor, entityTag, matchesIfNoneMatch, negotiates, setCacheHeaders, type CacheOptions } from '../cache.js';
import { checkMultipartBoundary, createUploadWatchdog, readUpload, registerRawBodyParser, type UploadPace } from '../input.js';
import { negotiateFromAccept } from '../negotiate.js';
import { remoteTag, sourceUrl, type RemoteSource } from '../remote/source.js';
import { placeholderRoute } from './placeholder.js';
import { serverTiming, statsOf, timed } from '../state.js';

/** Multipart framing allowed on top of the file's own byte limit. */
const MULTIPART_SLACK_BYTES = 64 * 1024;

type Query = Record<string, string | string[] | undefined>;

/**
 * The query without the access parameters, which the access layer reads, and on a GET without `url`, the image's
 * source: the rest is for the image operation.
 */
function imageParams(query: Query, method = 'POST'): Query {
  const { key: _key, sign: _sign, ...rest } = query;
  if (method !== 'GET') return rest;
  const { url: _url, ...params } = rest;
  return params;
}

/** A request's places: the receive place is held by its watch; the processing place is taken once the body is in. */
interface Admission {
  /** The response is over (answered or the client gone): no processing place may be taken any more. */
  closed: boolean;
  releaseProcessing?: () => void;
  /** A GET's receive place, held while its image is fetched. */
  releaseReceive?: () => void;
}

export async function imageRoutes(
  app: FastifyInstance,
  opts: { limits: Limits; decode: DecodePolicy; pace: UploadPace; cache?: CacheOptions; presets?: Presets; remote: RemoteSource },
): Promise<void> {
  const { limits, decode, presets = {}, remote } = opts;
  const cacheControl = cacheControlFor(opts.cache?.ttlSeconds);
  const { scheduler } = app.pixelpress;
  registerRawBodyParser(app, limits.maxUploadBytes);
  await app.register(multipart, { limits: { fileSize: limits.maxUploadBytes, files: 1 } });
  const watchdog = createUploadWatchdog(opts.pace);
  app.addHook('onClose', async () => watchdog.close());
  const admissions = new WeakMap<FastifyRequest, Admission>();

  // Everything here happens before the body is read: a request that will be refused never streams its upload.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'GET' && request.routeOptions.config.remoteSource) {
      // No body to watch: the fetch reserves what it may bring, and is bounded by its own deadline.
      const admission: Admission = { closed: false, releaseReceive: scheduler.receive(remote.maxBytes) };
      admissions.set(request, admission);
      reply.raw.once('close', () => {
        admission.closed = true;
        admission.releaseReceive?.();
        admission.releaseProcessing?.();
      });
      return;
    }
    if (request.method !== 'POST') return;
    const contentType = request.headers['content-type'] ?? '';
    // A declared length over the limit is refused before a byte of body is read. The multipart slack covers
    // boundaries, part headers and small text fields.
    const ceiling = limits.maxUploadBytes + (/^multipart\//i.test(contentType) ? MULTIPART_SLACK_BYTES : 0);
    const declared = Number(request.headers['content-length']);
    if (declared > ceiling) {
      throw new ImageError('PP_PAYLOAD_TOO_LARGE', `Upload of ${declared} bytes is over the limit of ${limits.maxUploadBytes} bytes`);
    }
    if (/^multipart\/form-data/i.test(contentType)) checkMultipartBoundary(contentType);
    // What the body can make this request buffer: Node delivers no more than a declared length, and the parsers cut a
    // chunked body at the ceiling.
    const reservation = request.headers['transfer-encoding'] !== undefined ? ceiling : Number.isFinite(declared) ? declared : 0;
    // 503 at once when processing is saturated or the receive gate is full; a slow upload holds only a receive place,
    // which the watchdog takes back from an upload behind the minimum rate.
    const releaseReceive = scheduler.receive(reservation, () => watchdog.makeRoom());
    watchdog.watch(request, releaseReceive);
    const admission: Admission = { closed: false };
    admissions.set(request, admission);
    reply.raw.once('close', () => {
      admission.closed = true;
      watchdog.stop(request);
      releaseReceive();
      admission.releaseProcessing?.();
    });
  });

  /** The whole body: the upload's receive place is still held, no processing place yet. */
  const readBody = async (request: FastifyRequest): Promise<Buffer> => {
    const input = await timed(request, 'receive', () => readUpload(request, limits.maxUploadBytes));
    statsOf(request).bytesIn = input.length;
    return input;
  };

  /** The processing admission: only a complete upload takes a queue place (or gets its 503). */
  const admit = (request: FastifyRequest): void => {
    const admission = admissions.get(request);
    if (!admission) return;
    // Released on close, which has already fired for a client gone while its body was read.
    if (admission.closed) throw new ImageError('PP_CLIENT_GONE', 'The client closed the connection before processing started');
    admission.releaseProcessing = scheduler.admit();
  };

  /** Aborted when the client leaves before its answer is complete. */
  const goneSignal = (reply: FastifyReply): AbortSignal => {
    const gone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    return gone.signal;
  };

  /** A GET's image, fetched from ?url= through the guard, counted like an upload; its receive place is then freed. */
  const fetchSource = async (request: FastifyRequest, reply: FastifyReply): Promise<Buffer> => {
    const url = sourceUrl(request.query as Query);
    try {
      const input = await timed(request, 'receive', () => remote.fetchImage(url, goneSignal(reply)));
      statsOf(request).bytesIn = input.length;
      return input;
    } finally {
      admissions.get(request)?.releaseReceive?.();
    }
  };

  /** The image: the upload, or for a GET the image at ?url=. */
  const load = (request: FastifyRequest, reply: FastifyReply): Promise<Buffer> => (request.method === 'GET' ? fetchSource(request, reply) : readBody(request));

  const receive = async (request: FastifyRequest, reply: FastifyReply): Promise<Buffer> => {
    const input = await load(request, reply);
    admit(request);
    return input;
  };

  /** Images the steps name by URL (watermarkImage), fetched before any processing place is taken; their time counts as receiving. */
  const fetchStepImages = async (request: FastifyRequest, reply: FastifyReply, prepared: readonly PreparedStep[]): Promise<Map<string, Buffer>> => {
    if (remoteImageUrls(prepared).length === 0) return new Map();
    return timed(request, 'receive', () => fetchRemoteImages(prepared, remote.fetchImage, goneSignal(reply)));
  };

  /**
   * The validators come first: the tag is known before any pixel is decoded, so a client that already holds this
   * output gets a 304 for the cost of hashing its upload, without taking a processing place. True once a 304 is sent.
   */
  const notModified = (request: FastifyRequest, reply: FastifyReply, tag: string, negotiated: boolean, ignored: readonly string[]): boolean => {
    setCacheHeaders(reply, tag, negotiated, cacheControl);
    // Parameters checked but not applied (imaginary ignores them silently): say so, so nobody wonders why nothing happened.
    if (ignored.length > 0) reply.header('PP-Ignored-Params', ignored.join(', '));
    if (!matchesIfNoneMatch(request.headers['if-none-match'], tag)) return false;
    void reply.code(304).send();
    return true;
  };

  /**
   * `work` in a processing place (admitted now, queued if need be), timed, and aborted when the client leaves. With
   * `ownPool`, the work waits in a pool of its own (AVIF's niced child, core/encoders/isolated.ts) and takes no processing
   * place, which every other request needs; it is still admitted, so concurrency + queue still bound what a worker holds.
   */
  const processing = async <T>(request: FastifyRequest, reply: FastifyReply, work: (signal: AbortSignal) => Promise<T>, ownPool = false): Promise<T> => {
    // A client that hangs up while queued should not cost a decode, nor one that hangs up during processing the rest of
    // it. One gone while its body was read has closed already: admit() refuses it.
    const gone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    admit(request);
    const queuedAt = performance.now();
    const timedWork = () => {
      statsOf(request).stages.queue = (performance.now() - queuedAt) / 1000;
      return timed(request, 'process', () => work(gone.signal));
    };
    return ownPool ? timedWork() : scheduler.run(timedWork, gone.signal);
  };

  const respond = async (request: FastifyRequest, reply: FastifyReply, prepared: PreparedStep[], ignored: readonly string[] = ignoredParams(prepared)) => {
    const input = await load(request, reply);
    const fetched = await fetchStepImages(request, reply, prepared);
    const negotiate = negotiateFromAccept(request.headers.accept);
    // A fetched overlay is part of the output: its bytes go into the tag, so a changed overlay is a new tag.
    if (notModified(request, reply, entityTag(input, prepared, { decode, negotiate, extra: remoteTag(fetched) }), negotiates(prepared), ignored)) return reply;
    // With 8 AVIF requests in processing places, W2 got 503s; outside them its p99 stayed 1.25-2.19x idle (docs/benchmarks.md).
    const result = await processing(request, reply, (signal) => execute(input, prepared, { limits, decode, negotiate, signal, remote: fetched }), asksForAvif(prepared, negotiate));
    statsOf(request).bytesOut = result.data.length;
    return reply
      .type(result.mime)
      .header('Image-Width', String(result.width))
      .header('Image-Height', String(result.height))
      .header('Server-Timing', serverTiming(statsOf(request).stages))
      .send(result.data);
  };

  // With remote sources on, every image route of imaginary's is also a GET taking the image from ?url=.
  const routes = (path: string, handler: (request: FastifyRequest, reply: FastifyReply) => unknown) => {
    app.post(path, handler);
    // No automatic HEAD: it would fetch and process for nothing (and imaginary answers HEAD 405).
    if (remote.enabled && path !== '/') app.get(path, { config: { remoteSource: true }, exposeHeadRoute: false }, handler);
  };

  for (const operation of operations) {
    routes(operation.path, (request, reply) => {
      const step: Step = { operation: operation.name, params: imageParams(request.query as Query, request.method) };
      return respond(request, reply, prepare([step], limits, 'query'));
    });
  }

  routes('/pipeline', (request, reply) => {
    const query = request.query as Query;
    // Like imaginary, top-level params other than operations are validated but not applied.
    const topLevelIgnored = checkKnownParams(imageParams(query, request.method), {}, 'query').filter((name) => name !== 'operations');
    const raw = Array.isArray(query.operations) ? query.operations[0] : query.operations;
    // Forms often put it in the body: say where it goes.
    if (raw === undefined) throw new ImageError('PP_INVALID_PIPELINE', 'Missing required param: operations (a JSON array in the query string, not a form field)');
    const prepared = prepare(parseOperations(raw), limits, 'json', true, presets);
    return respond(request, reply, prepared, [...new Set([...topLevelIgnored, ...ignoredParams(prepared)])]);
  });

  // A configured pipeline by name. Its query is checked like /pipeline's top level and not applied: the preset is fixed.
  app.post('/preset/:name', (request, reply) => {
    const { name } = request.params as { name: string };
    const ignored = checkKnownParams(imageParams(request.query as Query), {}, 'query');
    if (!findPreset(presets, name)) throw new ImageError('PP_NOT_FOUND', `No preset named ${JSON.stringify(name)}`);
    const prepared = prepare([{ operation: presetOperation, params: { name } }], limits, 'json', undefined, presets);
    return respond(request, reply, prepared, ignored);
  });

  routes('/info', async (request, reply) => {
    // Checked like every image route's, before the upload is read: unknown names are ignored, bad values refused.
    checkKnownParams(imageParams(request.query as Query, request.method), {}, 'query');
    const input = await receive(request, reply);
    return scheduler.run(() => timed(request, 'process', () => info(input, limits, decode)));
  });

  placeholderRoute(app, { limits, decode, imageParams: (request) => imageParams(request.query as Query), readBody, notModified, processing });
}
