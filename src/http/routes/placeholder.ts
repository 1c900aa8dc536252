/**
 * POST /placeholder?type=blurhash|thumbhash|lqip: BlurHash and ThumbHash strings as JSON with the image's dimensions,
 * an LQIP as a tiny WebP (or, with format=json, as a data URI in JSON). Validated before the upload is read, admitted and
 * queued like every image route, and revalidated by ETag like them (the work is small; the upload's decode is not).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DecodePolicy, Limits } from '../../core/limits.js';
import { makePlaceholder, preparePlaceholder } from '../../core/placeholder.js';
import { entityTag } from '../cache.js';
import { statsOf } from '../state.js';

/** What the image routes share with this one: reading the body, the 304 check and a processing place. */
export interface ImageRouteKit {
  limits: Limits;
  decode: DecodePolicy;
  /** The query without the access parameters. */
  imageParams(request: FastifyRequest): Record<string, unknown>;
  readBody(request: FastifyRequest): Promise<Buffer>;
  notModified(request: FastifyRequest, reply: FastifyReply, tag: string, negotiated: boolean, ignored: readonly string[]): boolean;
  processing<T>(request: FastifyRequest, reply: FastifyReply, work: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

export function placeholderRoute(app: FastifyInstance, kit: ImageRouteKit): void {
  const { limits, decode } = kit;
  app.post('/placeholder', async (request, reply) => {
    const prepared = preparePlaceholder(kit.imageParams(request), limits);
    const input = await kit.readBody(request);
    // The placeholder's own options (type, components, size, format) join the reduction step's in the tag.
    const tag = entityTag(input, prepared.steps, { decode, extra: { placeholder: prepared.type, options: prepared.options } });
    if (kit.notModified(request, reply, tag, false, prepared.ignored)) return reply;
    const result = await kit.processing(request, reply, (signal) => makePlaceholder(input, prepared, { limits, decode, signal }));
    if (result.type !== 'lqip') return result;
    const { image, mime, ...sizes } = result;
    statsOf(request).bytesOut = image.length;
    if (prepared.options.format === 'json') return { ...sizes, dataUri: `data:${mime};base64,${image.toString('base64')}` };
    return reply.type(mime).header('Image-Width', String(result.placeholderWidth)).header('Image-Height', String(result.placeholderHeight)).send(image);
  });
}
