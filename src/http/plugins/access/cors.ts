/** A CORS allowlist (off when empty), answering preflights before the API key is asked for. */
import cors from '@fastify/cors';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Throws on an origin browsers would never send, which would silently allow nobody. */
export function checkCorsOrigins(corsOrigins: readonly string[]): void {
  for (const origin of corsOrigins) {
    // Browsers send the origin exactly as scheme://host[:port]; `https://a.example/` (trailing slash) would never match.
    let serialized: string | undefined;
    try {
      serialized = new URL(origin).origin;
    } catch {
      serialized = undefined;
    }
    if (origin !== '*' && serialized !== origin) {
      throw new Error(`CORS origin must be * or scheme://host[:port] with no path, e.g. https://app.example, but received ${JSON.stringify(origin)}`);
    }
  }
}

/** Registers CORS when origins are given; returns what each response must do to its Vary header. */
export async function registerCors(app: FastifyInstance, corsOrigins: readonly string[]): Promise<(reply: FastifyReply) => void> {
  if (corsOrigins.length === 0) return () => {};
  // Registered before the key check: its onRequest hook answers preflights first, since browsers never send API-Key on
  // a preflight. imaginary's preflight is refused with 405; this one works.
  await app.register(cors, {
    origin: corsOrigins.includes('*') ? '*' : [...corsOrigins],
    methods: ['GET', 'POST'],
    allowedHeaders: ['Origin', 'Accept', 'Content-Type', 'API-Key'],
    exposedHeaders: ['Image-Width', 'Image-Height', 'PP-Ignored-Params'],
    // API-Key and image Content-Types make every POST preflighted; let browsers cache the answer for 10 minutes.
    maxAge: 600,
    // A bare OPTIONS (no Origin) gets a harmless 204 instead of a text/plain 400 outside the problem+json catalogue.
    strictPreflight: false,
  });
  // The response varies by Origin unless every origin gets `*`; routes that set Vary: Accept would drop it.
  if (corsOrigins.includes('*')) return () => {};
  return (reply) => addVary(reply, 'Origin');
}

/** Adds `token` to Vary unless it (or `*`) is there: a later reply.header('Vary', ...) replaces, not merges. */
function addVary(reply: FastifyReply, token: string): void {
  const current = reply.getHeader('vary');
  const list = (Array.isArray(current) ? current.join(',') : String(current ?? '')).split(',').map((part) => part.trim()).filter(Boolean);
  if (list.some((part) => part === '*' || part.toLowerCase() === token.toLowerCase())) return;
  reply.header('Vary', [...list, token].join(', '));
}
