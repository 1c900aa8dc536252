/** The process: configure sharp, listen, and shut down gracefully on SIGTERM/SIGINT. */
import sharp from 'sharp';
import { buildApp } from './app.js';
import { configFromEnv } from './config.js';

const config = configFromEnv();

// libvips' operation cache only helps when the same image is processed twice; here every upload is new,
// so the cache would just hold memory.
sharp.cache(false);

const app = await buildApp({ limits: config.limits, logger: { level: config.logLevel } });

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
  const deadline = setTimeout(() => {
    app.log.warn('shutdown deadline passed; exiting with requests still open');
    process.exit(1);
  }, config.shutdownGraceSeconds * 1000);
  deadline.unref();
  await app.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await app.listen({ host: config.host, port: config.port });
app.log.info(`docs at http://${config.host}:${config.port}/docs`);
