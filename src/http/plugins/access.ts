/**
 * Access control, each part off unless configured: imaginary's API key and URL signatures, and a CORS allowlist.
 * Security headers are always on. The checks run in onRequest, before the body is read, so a refused client never
 * gets to stream a 50 MiB upload, and before any image work is queued.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import cors from '@fastify/cors';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ErrorCode } from '../../core/errors.js';
import { problemFor, sendProblem } from '../problem.js';

export interface AccessOptions {
  /** imaginary's -key: required in the API-Key header or the key query parameter. */
  apiKey?: string | undefined;
  /** imaginary's -url-signature-key (at least 32 characters): HMAC-SHA256 `sign` on image routes. */
  urlSignatureKey?: string | undefined;
  /** Origins allowed by CORS; empty means no CORS headers. */
  corsOrigins?: readonly string[] | undefined;
}

/** imaginary exits on a shorter key: a short HMAC key can be brute-forced from one signed URL. */
const MIN_URL_SIGNATURE_KEY_LENGTH = 32;

/**
 * GET/HEAD routes load balancers and orchestrators probe: open even when an API key is set. imaginary guards /health
 * too, but a probe that needs the secret is a probe that gets the secret in its config; these answer no image.
 */
const probeRoutes = new Set(['/health', '/ready']);

/** The API's own description, static and secret-free: open so a browser can load /docs and authorise from it. */
function isPublicDocs(route: string): boolean {
  return route === '/openapi.json' || route === '/docs' || route.startsWith('/docs/');
}

/**
 * GET/HEAD routes that serve no image, so take no URL signature (imaginary exempts /, /health and /form). Matched on
 * the route pattern, so `/health/../resize` tricks cannot reach them. Every other route needs `sign`: a new route is
 * signed until listed here (fail closed).
 */
function servesNoImage(route: string): boolean {
  return route === '/' || probeRoutes.has(route) || route === '/metrics' || route === '/openapi.json' ||
    route === '/docs' || route.startsWith('/docs/') || route.startsWith('/problems/');
}

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

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Throws on options that would silently weaken or break access control; server config calls it too, to fail at start. */
export function checkAccessOptions(options: AccessOptions): void {
  const { urlSignatureKey, corsOrigins = [] } = options;
  if (urlSignatureKey && urlSignatureKey.length < MIN_URL_SIGNATURE_KEY_LENGTH) {
    // The key itself is never echoed: this message ends up in logs.
    throw new Error(`URL signature key must be at least ${MIN_URL_SIGNATURE_KEY_LENGTH} characters long but has ${urlSignatureKey.length}`);
  }
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

/** Go's url unescape: `%XX` is a byte (a bad escape is an error), `+` a space in queries. Returns one char per byte. */
function unescape(raw: string, plusIsSpace: boolean): string | undefined {
  if (/%(?![0-9a-fA-F]{2})/.test(raw)) return undefined;
  // Over HTTP the raw URL is ASCII (Node refuses other bytes); inject() may pass more, which a client sends as UTF-8.
  const bytes = Buffer.from(raw, 'utf8').toString('latin1');
  return (plusIsSpace ? bytes.replace(/\+/g, ' ') : bytes).replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Go's url.QueryEscape of a one-char-per-byte string: unreserved bytes kept, space as `+`, the rest %XX. */
function queryEscape(bytes: string): string {
  return bytes.replace(/[^A-Za-z0-9\-_.~ ]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).replace(/ /g, '+');
}

/**
 * What imaginary signs after the path: Go's url.Values.Encode() of the parsed query without `sign`. Keys sorted
 * bytewise (one char per byte, so JS sort order is byte order), values in request order, re-escaped, so
 * `large%20image.jpg` and `large+image.jpg` sign alike. Go's parser drops a pair with a bad %-escape (or a raw `;`),
 * but Fastify would still hand it to the route, so it must not ride along unsigned: a bad escape makes the query
 * unsignable (undefined), and a `;` pair is kept in what is signed.
 */
function canonicalQuery(rawQuery: string): { encoded: string; sign: string | undefined } | undefined {
  const values = new Map<string, string[]>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = unescape(eq === -1 ? pair : pair.slice(0, eq), true);
    const value = unescape(eq === -1 ? '' : pair.slice(eq + 1), true);
    if (key === undefined || value === undefined) return undefined;
    const list = values.get(key);
    if (list) list.push(value);
    else values.set(key, [value]);
  }
  // Like Go's query.Get("sign"): the first one; Del removes them all from what is signed.
  const sign = values.get('sign')?.[0];
  values.delete('sign');
  const encoded = [...values.keys()].sort().flatMap((key) => values.get(key)!.map((value) => `${queryEscape(key)}=${queryEscape(value)}`)).join('&');
  return { encoded, sign };
}

/** The problem a request's `sign` earns, or undefined when it is the HMAC-SHA256 of path + canonical query. */
function signatureProblem(url: string, key: string): ErrorCode | undefined {
  const at = url.indexOf('?');
  const path = unescape(at === -1 ? url : url.slice(0, at), false);
  const query = canonicalQuery(at === -1 ? '' : url.slice(at + 1));
  if (path === undefined || query === undefined) return 'PP_SIGNATURE_MISMATCH';
  const sign = query.sign ?? '';
  // base64.RawURLEncoding: the URL alphabet, no `=` padding, and no length that leaves 6 stray bits.
  if (!/^[A-Za-z0-9_-]*$/.test(sign) || sign.length % 4 === 1) return 'PP_INVALID_SIGNATURE';
  const given = Buffer.from(sign, 'base64url');
  const expected = createHmac('sha256', key).update(Buffer.from(path + query.encoded, 'latin1')).digest();
  // timingSafeEqual needs equal lengths; the length of a client-supplied value tells nothing about the key.
  return given.length === expected.length && timingSafeEqual(given, expected) ? undefined : 'PP_SIGNATURE_MISMATCH';
}

const firstOf = (value: unknown): string | undefined => (Array.isArray(value) ? firstOf(value[0]) : typeof value === 'string' ? value : undefined);

const details: Partial<Record<ErrorCode, string>> = {
  PP_UNAUTHORIZED: 'Invalid or missing API key',
  PP_INVALID_SIGNATURE: 'Invalid URL signature',
  PP_SIGNATURE_MISMATCH: 'URL signature mismatch',
};

function refuse(request: FastifyRequest, reply: FastifyReply, code: ErrorCode): FastifyReply {
  request.log.info({ code }, 'request refused by access control');
  return sendProblem(reply, problemFor(code, details[code] ?? code));
}

/** Adds `token` to Vary unless it (or `*`) is there: a later reply.header('Vary', ...) replaces, not merges. */
function addVary(reply: FastifyReply, token: string): void {
  const current = reply.getHeader('vary');
  const list = (Array.isArray(current) ? current.join(',') : String(current ?? '')).split(',').map((part) => part.trim()).filter(Boolean);
  if (list.some((part) => part === '*' || part.toLowerCase() === token.toLowerCase())) return;
  reply.header('Vary', [...list, token].join(', '));
}

export const accessPlugin = fp<AccessOptions>(
  async (app, options) => {
    checkAccessOptions(options);
    const { apiKey, urlSignatureKey, corsOrigins = [] } = options;

    if (corsOrigins.length > 0) {
      // Registered first: its onRequest hook answers preflights before the key check below, since browsers never send
      // API-Key on a preflight. imaginary's preflight is refused with 405; this one works.
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
    }
    // The response varies by Origin unless every origin gets `*`; routes that set Vary: Accept would drop it.
    const varyOnOrigin = corsOrigins.length > 0 && !corsOrigins.includes('*');

    // Hashing both sides gives timingSafeEqual equal lengths and hides the key's length; == would leak by timing.
    const expectedKeyDigest = apiKey ? sha256(apiKey) : undefined;

    app.addHook('onRequest', async (request, reply) => {
      const route = request.routeOptions.url;
      const readOnly = request.method === 'GET' || request.method === 'HEAD';
      // As in imaginary, the signature is checked first, on image routes only; an unmatched URL (404/405) serves nothing.
      if (urlSignatureKey && route !== undefined && !(readOnly && servesNoImage(route))) {
        const problem = signatureProblem(request.url, urlSignatureKey);
        if (problem) return refuse(request, reply, problem);
      }
      if (expectedKeyDigest && !(readOnly && route !== undefined && (probeRoutes.has(route) || isPublicDocs(route)))) {
        // The header wins whenever it is non-empty, so a wrong header with a right ?key= is refused, as in imaginary.
        // With no apiKey configured nothing is read, so Nextcloud's empty `&key=` is ignored.
        const provided = firstOf(request.headers['api-key']) || firstOf((request.query as Record<string, unknown> | undefined)?.key);
        if (provided === undefined || !timingSafeEqual(sha256(provided), expectedKeyDigest)) return refuse(request, reply, 'PP_UNAUTHORIZED');
      }
    });

    app.addHook('onSend', async (_request, reply, payload) => {
      // Always: stops browsers guessing a type, e.g. rendering an error body as HTML.
      reply.header('X-Content-Type-Options', 'nosniff');
      if (/^text\/html\b/i.test(String(reply.getHeader('content-type') ?? ''))) reply.header('Content-Security-Policy', DOCS_CSP);
      if (varyOnOrigin) addVary(reply, 'Origin');
      return payload;
    });
  },
  { name: 'pixelpress-access', fastify: '5.x' },
);
