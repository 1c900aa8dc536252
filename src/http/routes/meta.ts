/** Routes that touch no image: the version (imaginary's GET /), liveness, and the problem-type pages. */
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { errorCatalogue, type ErrorCode } from '../../core/errors.js';
import { version } from '../../version.js';
import { problemFor, statusOf } from '../problem.js';

export const versions = {
  pixelpress: version,
  imaginary: '1.2.4-compatible',
  sharp: sharp.versions.sharp ?? 'unknown',
  libvips: sharp.versions.vips,
};

export async function metaRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', async () => versions);
  app.get('/health', async () => ({ status: 'ok', uptime: Math.round(process.uptime()) }));
  // Readiness for load balancers: false while shutting down, when every slot and queue place is taken, or when the
  // receive gate (uploads still arriving) is full.
  app.get('/ready', async (_request, reply) => {
    const { scheduler, draining } = app.pixelpress;
    const ready = !draining && !scheduler.saturated;
    const body = { ready, draining, receiving: scheduler.receiving, admitted: scheduler.admitted, queued: scheduler.queued, running: scheduler.running };
    return reply.code(ready ? 200 : 503).send(body);
  });
  app.get('/problems/:code', async (request, reply) => {
    const { code } = request.params as { code: string };
    if (!Object.hasOwn(errorCatalogue, code)) return reply.code(404).type('application/problem+json').send(problemFor('PP_NOT_FOUND', `No problem type ${code}`));
    const entry = errorCatalogue[code as ErrorCode];
    return { code, status: statusOf[code as ErrorCode], title: entry.title, description: entry.description };
  });
}
