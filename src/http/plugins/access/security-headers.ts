/** Headers every response gets: nosniff always, and a strict Content-Security-Policy on HTML (the /docs pages). */
import type { FastifyReply } from 'fastify';

/**
 * For HTML (the Swagger UI pages at /docs, served locally by @fastify/swagger-ui): its scripts and styles come from
 * 'self', it sets inline style attributes, and it shows image responses as blob: URLs (and its icons as data: URLs).
 * No inline script is needed, so an injected one cannot run.
 */
const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function addSecurityHeaders(reply: FastifyReply): void {
  // Always: stops browsers guessing a type, e.g. rendering an error body as HTML.
  reply.header('X-Content-Type-Options', 'nosniff');
  if (/^text\/html\b/i.test(String(reply.getHeader('content-type') ?? ''))) reply.header('Content-Security-Policy', DOCS_CSP);
}
