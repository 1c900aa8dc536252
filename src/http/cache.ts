/**
 * HTTP caching for image responses: a strong ETag that names the output before it is computed, If-None-Match answered
 * 304 without decoding, imaginary's -http-cache-ttl as PP_HTTP_CACHE_TTL, and errors marked never to be stored.
 *
 * The tag is a hash of what determines the output bytes: the input bytes, each step's operation name and PARSED options
 * (so `?width=100&height=50`, `?height=50&width=0100` and the same step in a /pipeline all hash alike), the decode
 * policy, the versions of pixelpress, sharp and libvips, and, when a step asks for type=auto, what the Accept header
 * negotiates (not its spelling). Route, access parameters and ignored parameters do not change the bytes, so not the tag.
 * docs/caching.md has the details and why a POST is answered 304 rather than RFC 9110's 412.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import sharp from 'sharp';
import { outputOptionsOf } from '../core/imaginary-params.js';
import type { DecodePolicy } from '../core/limits.js';
import { outputTypes, type OutputType } from '../core/params.js';
import type { PreparedStep } from '../core/pipeline.js';
import { version } from '../version.js';

export interface CacheOptions {
  /**
   * imaginary's -http-cache-ttl, in seconds: below 0 (the default) no Cache-Control is sent on images; 0 forbids
   * storing them; above 0 lets browsers and shared caches keep them that long.
   */
  ttlSeconds?: number;
}

/** imaginary's getCacheControl, word for word, so a cache configured for imaginary behaves the same here. */
export function cacheControlFor(ttlSeconds: number | undefined): string | undefined {
  if (ttlSeconds === undefined || ttlSeconds < 0) return undefined;
  if (ttlSeconds === 0) return 'private, no-cache, no-store, must-revalidate';
  return `public, s-maxage=${ttlSeconds}, max-age=${ttlSeconds}, no-transform`;
}

const versions = { pixelpress: version, sharp: sharp.versions.sharp ?? '', libvips: sharp.versions.vips };

/** Whether some step writes type=auto: then the Accept header is part of what the output is. */
export function negotiates(prepared: readonly PreparedStep[]): boolean {
  return prepared.some((step) => !step.operation.outputType && outputOptionsOf(step.options).type === 'auto');
}

/** JSON with object keys sorted and Sets as sorted lists: equal options give equal text whatever order they came in. */
function canonical(value: unknown): unknown {
  if (value instanceof Set) return [...value].map(String).sort();
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]));
  }
  return value;
}

export interface TagContext {
  decode: DecodePolicy;
  /** type=auto's choice for each fallback format, or undefined when no step negotiates. */
  negotiate?: ((fallback: OutputType) => OutputType) | undefined;
  /** Anything else the output depends on, as plain data (a placeholder's type and options). */
  extra?: unknown;
}

/** The strong entity tag of the response `prepared` makes from `input`. Costs one SHA-256 pass over the body. */
export function entityTag(input: Buffer, prepared: readonly PreparedStep[], context: TagContext): string {
  const negotiated = negotiates(prepared) && context.negotiate ? Object.fromEntries(outputTypes.map((type) => [type, context.negotiate!(type)])) : null;
  const description = JSON.stringify(canonical({
    versions,
    decode: context.decode,
    negotiated,
    extra: context.extra ?? null,
    steps: prepared.map((step) => ({ operation: step.operation.name, options: step.options, ignoreFailure: step.ignoreFailure })),
  }));
  // JSON never holds a raw NUL, so description and body cannot run into each other.
  const digest = createHash('sha256').update(description).update('\0').update(input).digest('base64url');
  return `"${digest}"`;
}

/**
 * RFC 9110 13.1.2: If-None-Match compares weakly, so W/"x" matches "x". `*` ("any representation") is not honoured:
 * no client can hold a processed image without having been given its tag, so it is processed as usual.
 */
export function matchesIfNoneMatch(header: string | undefined, tag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === tag);
}

/** The validators and caching rules a 200 and its 304 share (RFC 9110 15.4.5: a 304 repeats ETag, Cache-Control, Vary). */
export function setCacheHeaders(reply: FastifyReply, tag: string, negotiated: boolean, cacheControl: string | undefined): void {
  reply.header('ETag', tag);
  if (negotiated) reply.header('Vary', 'Accept');
  if (cacheControl) reply.header('Cache-Control', cacheControl);
}

/**
 * Errors are never cached: 404 and 405 are cacheable by default (RFC 9110 15.1), and a 503 for load or a 413 under
 * today's limits says nothing about tomorrow. Every answer of 400 or more says `no-store`, and loses the ETag its route
 * set before processing failed: the tag names an image this answer does not carry.
 */
export const noStoreOnErrors = fp(
  async (app) => {
    app.addHook('onSend', async (_request, reply, payload) => {
      if (reply.statusCode >= 400) {
        reply.header('Cache-Control', 'no-store');
        reply.removeHeader('ETag');
      }
      return payload;
    });
  },
  { name: 'pixelpress-no-store-on-errors', fastify: '5.x' },
);
