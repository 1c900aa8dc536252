/**
 * The service as a Fastify plugin: `app.register(pixelpress, { prefix: '/img', limits })` adds every route to an
 * existing app. It is encapsulated on purpose: pixelpress's error handler, access control, body parsers and 404s apply
 * to its own routes only, never to the host's. buildApp() is this plugin on a Fastify instance of its own.
 */
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { defaultDecodePolicy, resolveLimits, type DecodePolicy, type Limits } from '../core/limits.js';
import { checkPresets } from '../core/pipeline.js';
import type { Presets } from '../core/presets.js';
import { noStoreOnErrors, type CacheOptions } from './cache.js';
import { buildOpenApiDocument, remoteSourcePaths } from './openapi.js';
import { checkPluginOptions } from './plugin-options.js';
import { accessPlugin, type AccessOptions } from './plugins/access/index.js';
import { metricsPlugin } from './plugins/metrics.js';
import { defaultUploadPace, type UploadPace } from './input.js';
import { errorHandler, problemFor, sendProblem } from './problem.js';
import { resolveRemote, type RemoteSettings } from './remote/options.js';
import { createRemoteSource } from './remote/source.js';
import { imageRoutes } from './routes/images.js';
import { metaRoutes } from './routes/meta.js';
import { playgroundRoutes } from './routes/playground.js';
import { wrongMethodRoutes } from './routes/wrong-method.js';
import { createScheduler, schedulerOptions, type SchedulerOptions } from './scheduler.js';
import './state.js';

export interface PixelpressOptions {
  limits?: Partial<Limits>;
  decode?: Partial<DecodePolicy>;
  access?: AccessOptions;
  /** Image work in parallel and waiting; defaults suit one process on the machine's cores. */
  scheduler?: Partial<SchedulerOptions>;
  /** How fast an upload must arrive before it is answered 408 and its place freed. */
  upload?: Partial<UploadPace>;
  /** ETag and Cache-Control on image responses (imaginary's -http-cache-ttl). */
  cache?: CacheOptions;
  /** Named pipelines, {"avatar": [steps]}: POST /preset/{name} and pipeline steps {"operation":"preset","params":{"name":…}}. */
  presets?: Presets;
  /** Serve Swagger UI at {prefix}/docs and the document at {prefix}/openapi.json (default true). */
  docs?: boolean;
  /** Remote sources (GET ?url=, /watermarkimage): off unless `enabled`, then guarded (docs/remote-sources.md). */
  remote?: Partial<RemoteSettings>;
}

const routes: FastifyPluginAsync<PixelpressOptions> = async (app, options) => {
  // Checked before anything is registered: a typo in an option fails app.ready(), not the first request.
  checkPluginOptions(options as Record<string, unknown>);
  const limits = resolveLimits(options.limits);
  const presets = options.presets ?? {};
  checkPresets(presets, limits);
  const remote = createRemoteSource(resolveRemote(options.remote));
  app.addHook('onClose', () => remote.close());
  const prefix = app.prefix;

  // RFC 9112 section 3.2: an HTTP/1.1 request without Host is refused with 400. First, before access control.
  app.addHook('onRequest', async (request, reply) => {
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      return sendProblem(reply, problemFor('PP_BAD_REQUEST', 'HTTP/1.1 requests need a Host header'));
    }
  });
  // buildApp() decorates its root instance first, so its server can flip `draining` on SIGTERM; a host app's
  // pixelpress gets its own state here, inside the plugin.
  if (!app.hasDecorator('pixelpress')) app.decorate('pixelpress', { scheduler: createScheduler(schedulerOptions(options.scheduler)), draining: false });
  app.setErrorHandler(errorHandler);
  await app.register(accessPlugin, options.access ?? {});

  const built = buildOpenApiDocument(presets, { apiKey: Boolean(options.access?.apiKey), remoteSources: remote.enabled });
  // Under a prefix, "Try it out" must call {prefix}/resize: OpenAPI says so with a server URL.
  const document = prefix ? { ...built, servers: [{ url: prefix }] } : built;
  if (options.docs !== false) {
    await app.register(swagger, { mode: 'static', specification: { document: document as never } });
    // `urls` makes the top bar name the document users are told about, /openapi.json, instead of the plugin's /docs/json.
    await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { tryItOutEnabled: true, deepLinking: true, urls: [{ url: `${prefix}/openapi.json`, name: `pixelpress ${prefix}/openapi.json` }] } });
    app.get('/openapi.json', { schema: { hide: true } }, async () => document);
  }

  await app.register(noStoreOnErrors);
  await app.register(metricsPlugin);
  await app.register(metaRoutes);
  await app.register(playgroundRoutes);
  await app.register(imageRoutes, { limits, decode: { ...defaultDecodePolicy, ...options.decode }, pace: { ...defaultUploadPace, ...options.upload }, cache: options.cache ?? {}, presets, remote });
  wrongMethodRoutes(app, (built as { paths: Record<string, Record<string, unknown>> }).paths, new Set(remoteSourcePaths()));
};

/**
 * `encapsulate: true` keeps the plugin's own context (so `prefix` applies and nothing leaks into the host app) while
 * fastify-plugin still names it and checks the Fastify major version.
 */
export const pixelpress = fp(routes, { name: 'pixelpress', fastify: '5.x', encapsulate: true });
