/** Request logging that never prints secrets: API keys and URL signatures are cut from logged URLs. */
import type { FastifyRequest } from 'fastify';

/** Parameter names whose values are secrets: the API key and the URL signature. */
const secretNames = new Set(['key', 'sign']);

/** A parameter name as the query parsers read it: `+` is a space and `%XX` a byte (a bad escape is kept as is). */
function decodeName(raw: string): string {
  return raw.replace(/\+/g, ' ').replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Whether a pair's name could be read as `key` or `sign`. Fastify's parser decodes the name (so `k%65y` is `key`);
 * case and surrounding spaces are ignored too, which also catches names nothing reads: over-redacting is harmless.
 */
function isSecret(rawName: string): boolean {
  return secretNames.has(rawName.toLowerCase()) || secretNames.has(decodeName(rawName).trim().toLowerCase());
}

/**
 * The URL with the value of every secret parameter replaced by [redacted]. Readers split the query differently:
 * Fastify's router starts it at the first `?` or `#`, the signature check at the first `?`, and a value runs to the
 * next `&` for both. So a name may start after any `?`, `#`, `&` (or `;`), and a secret value is cut to the next `&`.
 */
export function redactUrl(url: string): string {
  // Linear: a name is a run of non-separators, so no character is scanned twice from one start.
  const named = /[?#&;]([^=?#&;]*)=/g;
  let redacted = '';
  let copied = 0;
  for (let match = named.exec(url); match !== null; match = named.exec(url)) {
    if (!isSecret(match[1]!)) continue;
    const valueStart = named.lastIndex;
    const next = url.indexOf('&', valueStart);
    const valueEnd = next === -1 ? url.length : next;
    redacted += `${url.slice(copied, valueStart)}[redacted]`;
    copied = valueEnd;
    named.lastIndex = valueEnd;
  }
  return redacted + url.slice(copied);
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
