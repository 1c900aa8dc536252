/** buildApp(options): the whole HTTP service without listening, so tests drive it with app.inject(). */
import Fastify, { type FastifyInstance } from 'fastify';
import { resolveLimits } from '../core/limits.js';
import { serializeRequest } from './logging.js';
import { pixelpress, type PixelpressOptions } from './plugin.js';
import { clientErrorHandler, errorHandler } from './problem.js';
import { createScheduler, schedulerOptions } from './scheduler.js';
import './state.js';

export interface AppOptions extends PixelpressOptions {
  /** true or pino options; request URLs are always logged with key= and sign= redacted. */
  logger?: boolean | { level?: string; stream?: { write(line: string): void } };
}

export async function buildApp(options: AppOptions = {}): Promise<FastifyInstance> {
  const { logger, ...pluginOptions } = options;
  const limits = resolveLimits(options.limits);
  // What only a whole server can set: the logger, Node's own refusals, the Host rule. The routes are the plugin's.
  const app = Fastify({
    logger: logger ? { ...(logger === true ? {} : logger), serializers: { req: serializeRequest } } : false,
    // Uploads are read by our own parsers with the upload limit; this bounds everything else.
    bodyLimit: limits.maxUploadBytes,
    routerOptions: { ignoreTrailingSlash: false },
    // Node's refusals (malformed request line or header, timeouts) and Fastify's (a bad %-escape in the URL) are
    // answered like everything else: problem+json with nosniff.
    clientErrorHandler,
    frameworkErrors: errorHandler,
    // Node would answer a missing Host with a bare 400; the plugin's hook answers it in problem+json.
    http: { requireHostHeader: false },
  });
  // On the root, so the process (server.ts) can set `draining` on SIGTERM; the plugin uses this state.
  app.decorate('pixelpress', { scheduler: createScheduler(schedulerOptions(options.scheduler)), draining: false });
  await app.register(pixelpress, pluginOptions);
  return app;
}
