/** imaginary's API key: in the API-Key header or the key query parameter, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

const firstOf = (value: unknown): string | undefined => (Array.isArray(value) ? firstOf(value[0]) : typeof value === 'string' ? value : undefined);

/** A check of requests against `apiKey`: true when the request carries it. */
export function apiKeyCheck(apiKey: string): (request: FastifyRequest) => boolean {
  // Hashing both sides gives timingSafeEqual equal lengths and hides the key's length; == would leak by timing.
  const expected = sha256(apiKey);
  return (request) => {
    // The header wins whenever it is non-empty, so a wrong header with a right ?key= is refused, as in imaginary.
    const provided = firstOf(request.headers['api-key']) || firstOf((request.query as Record<string, unknown> | undefined)?.key);
    return provided !== undefined && timingSafeEqual(sha256(provided), expected);
  };
}
