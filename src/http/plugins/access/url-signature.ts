/**
 * imaginary's URL signatures: `sign` is the unpadded base64url HMAC-SHA256 of the path and the canonical query, keyed
 * with -url-signature-key. Go's escaping rules are reproduced byte for byte, so URLs signed for imaginary still pass.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ErrorCode } from '../../../core/errors.js';

/** imaginary exits on a shorter key: a short HMAC key can be brute-forced from one signed URL. */
export const MIN_URL_SIGNATURE_KEY_LENGTH = 32;

/** Throws on a key too short to be safe; the key itself is never echoed, as this message ends up in logs. */
export function checkSignatureKey(key: string | undefined): void {
  if (key && key.length < MIN_URL_SIGNATURE_KEY_LENGTH) {
    throw new Error(`URL signature key must be at least ${MIN_URL_SIGNATURE_KEY_LENGTH} characters long but has ${key.length}`);
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
export function signatureProblem(url: string, key: string): ErrorCode | undefined {
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
