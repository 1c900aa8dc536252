/**
 * GET /metrics in Prometheus format (prom-client): requests by route and status, duration by stage, queue and
 * in-flight gauges, bytes in and out, and rejections by reason. One registry per app, so tests stay isolated.
 */
import cluster from 'node:cluster';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { clusterMetricsSource } from '../cluster-metrics.js';
import { peekStats, type Stage } from '../state.js';

const stageBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const metricsPlugin = fp(
  async (app) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'pixelpress_' });
    const requests = new Counter({
      name: 'pixelpress_http_requests_total',
      help: 'HTTP requests answered, by route, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers: [registry],
    });
    const duration = new Histogram({
      name: 'pixelpress_request_stage_seconds',
      help: 'Time spent per stage of an image request: receive (upload), queue (waiting for a slot), process (libvips), send',
      labelNames: ['route', 'stage'] as const,
      buckets: stageBuckets,
      registers: [registry],
    });
    const total = new Histogram({
      name: 'pixelpress_http_request_duration_seconds',
      help: 'Whole request duration, by route',
      labelNames: ['route'] as const,
      buckets: stageBuckets,
      registers: [registry],
    });
    const bytes = new Counter({
      name: 'pixelpress_image_bytes_total',
      help: 'Image bytes received (in) and sent (out)',
      labelNames: ['direction'] as const,
      registers: [registry],
    });
    const rejections = new Counter({
      name: 'pixelpress_rejections_total',
      help: 'Requests answered with an error, by problem code',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
    const { scheduler } = app.pixelpress;
    new Gauge({ name: 'pixelpress_queue_length', help: 'Requests waiting for a processing slot', registers: [registry], collect() { this.set(scheduler.queued); } });
    new Gauge({ name: 'pixelpress_inflight', help: 'Images being processed', registers: [registry], collect() { this.set(scheduler.running); } });
    new Gauge({ name: 'pixelpress_admitted', help: 'Requests admitted to processing (queued or processing) and not yet answered', registers: [registry], collect() { this.set(scheduler.admitted); } });
    new Gauge({ name: 'pixelpress_receiving', help: 'Uploads being received, not yet admitted to processing', registers: [registry], collect() { this.set(scheduler.receiving); } });
    new Gauge({ name: 'pixelpress_receiving_bytes', help: 'Bytes reserved by the uploads being received', registers: [registry], collect() { this.set(scheduler.receivingBytes); } });

    // The send stage starts when the handler hands the body over.
    const sendStarted = new WeakMap<object, number>();
    app.addHook('onSend', async (request, _reply, payload) => {
      sendStarted.set(request, performance.now());
      return payload;
    });
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      requests.inc({ route, method: request.method, status: String(reply.statusCode) });
      total.observe({ route }, reply.elapsedTime / 1000);
      const started = sendStarted.get(request);
      const stats = peekStats(request);
      if (stats?.problem) rejections.inc({ reason: stats.problem });
      if (stats) {
        for (const [stage, seconds] of Object.entries(stats.stages) as [Stage, number][]) duration.observe({ route, stage }, seconds);
        if (started !== undefined) duration.observe({ route, stage: 'send' }, (performance.now() - started) / 1000);
        if (stats.bytesIn) bytes.inc({ direction: 'in' }, stats.bytesIn);
        if (reply.statusCode < 400 && stats.bytesOut) bytes.inc({ direction: 'out' }, stats.bytesOut);
      }
    });

    // Under the supervisor every worker answers for the whole cluster; alone, a process answers for itself.
    const source = cluster.isWorker ? clusterMetricsSource(registry) : () => registry.metrics();
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      return reply.type(registry.contentType).send(await source());
    });
  },
  { name: 'pixelpress-metrics', fastify: '5.x' },
);
