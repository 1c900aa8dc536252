/** Request logging that never prints secrets: API keys and URL signatures are cut from logged URLs. */
import type { FastifyRequest } from 'fastify';

const secretParams = /([?&](?:key|sign)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(secretParams, '$1[redacted]');
}

/** pino serializer for requests: method, redacted URL and peer; no headers (API-Key, cookies), never the body. */
export function serializeRequest(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    remoteAddress: request.ip,
    contentLength: request.headers['content-length'],
  };
}
