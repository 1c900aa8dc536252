/** buildApp(options): the whole HTTP service without listening, so tests drive it with app.inject(). */
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { defaultDecodePolicy, resolveLimits, type DecodePolicy, type Limits } from '../core/limits.js';
import { checkPresets } from '../core/pipeline.js';
import type { Presets } from '../core/presets.js';
import { noStoreOnErrors, type CacheOptions } from './cache.js';
import { buildOpenApiDocument, remoteSourcePaths } from './openapi.js';
import { accessPlugin, type AccessOptions } from './plugins/access/index.js';
import { metricsPlugin } from './plugins/metrics.js';
import { defaultUploadPace, type UploadPace } from './input.js';
import { serializeRequest } from './logging.js';
import { clientErrorHandler, errorHandler, problemFor, sendProblem } from './problem.js';
import { resolveRemote, type RemoteSettings } from './remote/options.js';
import { createRemoteSource } from './remote/source.js';
import { imageRoutes } from './routes/images.js';
import { metaRoutes } from './routes/meta.js';
import { wrongMethodRoutes } from './routes/wrong-method.js';
import { createScheduler, schedulerOptions, type SchedulerOptions } from './scheduler.js';
import './state.js';

export interface AppOptions {
  limits?: Partial<Limits>;
  decode?: Partial<DecodePolicy>;
  /** true or pino options; request URLs are always logged with key= and sign= redacted. */
  logger?: boolean | { level?: string; stream?: { write(line: string): void } };
  access?: AccessOptions;
  /** Image work in parallel and waiting; defaults suit one process on the machine's cores. */
  scheduler?: Partial<SchedulerOptions>;
  /** How fast an upload must arrive before it is answered 408 and its place freed. */
  upload?: Partial<UploadPace>;
  /** ETag and Cache-Control on image responses (imaginary's -http-cache-ttl). */
  cache?: CacheOptions;
  /** Named pipelines, {"avatar": [steps]}: POST /preset/{name} and pipeline steps {"operation":"preset","params":{"name":…}}. */
  presets?: Presets;
  /** Remote sources (GET ?url=, /watermarkimage): off unless `enabled`, then guarded (docs/remote-sources.md). */
  remote?: Partial<RemoteSettings>;
}


export async function buildApp(options: AppOptions = {}): Promise<FastifyInstance> {
  const limits = resolveLimits(options.limits);
  const presets = options.presets ?? {};
  // Library users pass presets here directly: refuse a bad one now, not on the request that uses it.
  checkPresets(presets, limits);
  const remote = createRemoteSource(resolveRemote(options.remote));
  const app = Fastify({
    logger: options.logger ? { ...(options.logger === true ? {} : options.logger), serializers: { req: serializeRequest } } : false,
    // Uploads are read by our own parsers with the upload limit; this bounds everything else.
    bodyLimit: limits.maxUploadBytes,
    routerOptions: { ignoreTrailingSlash: false },
    // Node's refusals (malformed request line or header, timeouts) and Fastify's (a bad %-escape in the URL) are
    // answered like everything else: problem+json with nosniff.
    clientErrorHandler,
    frameworkErrors: errorHandler,
    // Node would answer a missing Host with a bare 400; the hook below answers it in problem+json.
    http: { requireHostHeader: false },
  });
  // RFC 9112 section 3.2: an HTTP/1.1 request without Host is refused with 400. First, before access control.
  app.addHook('onRequest', async (request, reply) => {
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      return sendProblem(reply, problemFor('PP_BAD_REQUEST', 'HTTP/1.1 requests need a Host header'));
    }
  });

  app.decorate('pixelpress', { scheduler: createScheduler(schedulerOptions(options.scheduler)), draining: false });
  app.setErrorHandler(errorHandler);
  await app.register(accessPlugin, options.access ?? {});
  app.addHook('onClose', () => remote.close());
  const document = buildOpenApiDocument(presets, { remoteSources: remote.enabled });
  await app.register(swagger, { mode: 'static', specification: { document: document as never } });
  // `urls` makes the top bar name the document users are told about, /openapi.json, instead of the plugin's /docs/json.
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { tryItOutEnabled: true, deepLinking: true, urls: [{ url: '/openapi.json', name: 'pixelpress /openapi.json' }] } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => document);

  await app.register(noStoreOnErrors);
  await app.register(metricsPlugin);
  await app.register(metaRoutes);
  await app.register(imageRoutes, { limits, decode: { ...defaultDecodePolicy, ...options.decode }, pace: { ...defaultUploadPace, ...options.upload }, cache: options.cache ?? {}, presets, remote });

  wrongMethodRoutes(app, (document as { paths: Record<string, Record<string, unknown>> }).paths, new Set(remoteSourcePaths()));
  return app;
}
