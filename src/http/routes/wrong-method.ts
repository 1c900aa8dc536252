/**
 * Every 405, made here: a path the OpenAPI document lists, asked with a method it does not serve, gets 405 with a true
 * Allow header rather than a 404.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { problemFor, sendProblem } from '../problem.js';

type Paths = Record<string, Record<string, unknown>>;

export function wrongMethodRoutes(app: FastifyInstance, paths: Paths): void {
  const allowed = new Map(Object.entries(paths).map(([path, methods]) => [path, Object.keys(methods).map((method) => method.toUpperCase())]));
  const refuse = (reply: FastifyReply, method: string, path: string, allow: readonly string[], hint = '') => {
    reply.header('Allow', allow.join(', '));
    return sendProblem(reply, problemFor('PP_METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}${hint}`));
  };

  // GET on an image route is a real route, not a miss: as in imaginary, access control (URL signatures) answers first.
  // imaginary serves GET there only with a remote source or mount configured; neither exists here.
  for (const [path, allow] of allowed) {
    if (allow.includes('GET') || !allow.includes('POST')) continue;
    // OpenAPI writes a path parameter {name}, Fastify :name.
    app.get(path.replace(/\{(\w+)\}/g, ':$1'), async (request, reply) => refuse(reply, request.method, request.url.split('?')[0] ?? path, allow, ': it needs a remote image source, which this server does not enable, so POST the image instead'));
  }

  app.setNotFoundHandler((request, reply) => {
    const full = request.url.split('?')[0] ?? '';
    // Under a prefix (the plugin registered at /img) the document's paths are relative to it.
    const path = app.prefix && full.startsWith(app.prefix) ? full.slice(app.prefix.length) || '/' : full;
    const allow = allowed.get(path);
    if (allow) return refuse(reply, request.method, full, allow);
    return sendProblem(reply, problemFor('PP_NOT_FOUND', `No route ${request.method} ${full}`));
  });
}
