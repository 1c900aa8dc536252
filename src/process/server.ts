/** The process: a supervisor with PP_WORKERS workers (default: one per core), or the server itself with PP_WORKERS=0. */
import cluster from 'node:cluster';
import sharp from 'sharp';
import { ringBlurKernel } from '../core/ring-blur/index.js';
import { buildApp } from '../http/app.js';
import { configFromEnv, type ServerConfig } from './config.js';
import { useOwnFontconfig } from './fontconfig.js';
import { serveClusterMetrics } from '../http/cluster-metrics.js';
import { supervise } from './supervisor.js';

async function serve(config: ServerConfig): Promise<void> {
  // libvips' operation cache only helps when the same image is processed twice; every upload here is new,
  // so the cache would just hold memory.
  sharp.cache(false);
  sharp.concurrency(config.sharpConcurrency);

  const app = await buildApp({
    limits: config.limits,
    decode: config.decode,
    scheduler: config.scheduler,
    upload: config.upload,
    access: config.access,
    cache: { ttlSeconds: config.httpCacheTtlSeconds },
    presets: config.presets,
    remote: config.remote,
    logger: { level: config.logLevel },
  });
  app.server.requestTimeout = config.requestTimeoutSeconds * 1000;
  app.server.headersTimeout = config.headersTimeoutSeconds * 1000;
  app.server.keepAliveTimeout = config.keepAliveTimeoutSeconds * 1000;
  // Node checks those two timeouts on this interval (30 s by default): check every second so they hold to the second.
  (app.server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = 1000;

  let closing = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    app.pixelpress.draining = true;
    app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const deadline = setTimeout(() => {
      app.log.warn('shutdown deadline passed; exiting with requests still open');
      process.exit(1);
    }, config.shutdownGraceSeconds * 1000);
    deadline.unref();
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  if (!cluster.isWorker) app.log.info(`docs at http://${config.host}:${config.port}/docs`);
  if (!cluster.isWorker || cluster.worker?.id === 1) logRingBlurKernel(app.log);
}

/**
 * Which Pillow-BLUR kernel the seed route runs. npm 11 skips a dependency's install scripts until the user approves
 * them, so an install from the registry usually has no native addon: say so once, with the fix, rather than be slow.
 */
function logRingBlurKernel(log: { info(o: object, m: string): void; warn(o: object, m: string): void }): void {
  if (ringBlurKernel.startsWith('native')) log.info({ ringBlurKernel }, 'Pillow BLUR kernel');
  else log.warn({ ringBlurKernel }, 'Pillow BLUR runs on the TypeScript kernel, about 15x slower than the native addon: build it with `npm run build:native` in the package folder (docs/deploy.md)');
}

useOwnFontconfig();
let config: ServerConfig;
try {
  config = configFromEnv();
} catch (err) {
  // A configuration mistake (a bad preset, a malformed number) is one line for the operator, and exit 1 before listening.
  process.stderr.write(`pixelpress: invalid configuration: ${(err as Error).message}\n`);
  process.exit(1);
}
if (cluster.isPrimary && config.workers > 0) {
  const log = (message: string, fields: Record<string, unknown> = {}) =>
    process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, role: 'supervisor', ...fields, msg: message })}\n`);
  log(`starting ${config.workers} workers; docs at http://${config.host}:${config.port}/docs`);
  serveClusterMetrics();
  supervise({ workers: config.workers, shutdownGraceSeconds: config.shutdownGraceSeconds, crashLoopDeaths: config.crashLoopDeaths, log });
} else {
  await serve(config);
}
