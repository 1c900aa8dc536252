/**
 * Every 405, made here: a path the OpenAPI document lists, asked with a method it does not serve, gets 405 with a true
 * Allow header rather than a 404.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { problemFor, sendProblem } from '../problem.js';
import { enableHint } from '../remote/source.js';

type Paths = Record<string, Record<string, unknown>>;

/** `remotePaths`: routes that take GET ?url= when remote sources are on; while they are off, such a GET says how to. */
export function wrongMethodRoutes(app: FastifyInstance, paths: Paths, remotePaths: ReadonlySet<string> = new Set()): void {
  const allowed = new Map(Object.entries(paths).map(([path, methods]) => [path, Object.keys(methods).map((method) => method.toUpperCase())]));
  const refuse = (reply: FastifyReply, method: string, path: string, allow: readonly string[], hint = '') => {
    reply.header('Allow', allow.join(', '));
    return sendProblem(reply, problemFor('PP_METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}${hint}`));
  };

  // GET on an image route is a real route, not a miss: as in imaginary, access control (URL signatures) answers first.
  // imaginary serves GET there only with a remote source or mount configured. Remote sources are off if we get here.
  for (const [path, allow] of allowed) {
    if (allow.includes('GET') || !allow.includes('POST')) continue;
    const remote = remotePaths.has(path);
    // OpenAPI writes a path parameter {name}, Fastify :name.
    app.get(path.replace(/\{(\w+)\}/g, ':$1'), async (request, reply) => {
      // The path as asked, prefix included.
      const asked = request.url.split('?')[0] ?? path;
      if (remote && (request.query as Record<string, unknown>).url !== undefined) {
        return sendProblem(reply, problemFor('PP_REMOTE_DISABLED', `Remote sources are off, so GET ${asked}?url=… is not served: ${enableHint}; or POST the image instead`));
      }
      const hint = remote ? `: POST the image instead, or to fetch it from ?url=, ${enableHint}` : ': POST the image instead';
      return refuse(reply, request.method, asked, allow, hint);
    });
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
