/** Remote sources as the routes see them: the guarded fetcher when enabled, else a refusal saying how to enable it. */
import { createHash } from 'node:crypto';
import { ImageError } from '../../core/errors.js';
import type { FetchImage } from '../../core/remote-images.js';
import { createRemoteFetcher } from './fetcher.js';
import type { ResolvedRemote } from './options.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A GET image route taking its image from ?url=. */
    remoteSource?: boolean;
  }
}

export interface RemoteSource {
  readonly enabled: boolean;
  /** What one fetch may hold in memory: a GET's reservation in the receive gate. */
  readonly maxBytes: number;
  readonly fetchImage: FetchImage;
  close(): Promise<void>;
}

/** How to turn remote sources on, for every refusal that comes from their being off. */
export const enableHint = 'set PP_ENABLE_URL_SOURCE=true and PP_ALLOWED_ORIGINS to the hosts to fetch from (docs/remote-sources.md)';

export function createRemoteSource(remote: ResolvedRemote): RemoteSource {
  if (!remote.enabled) {
    return {
      enabled: false,
      maxBytes: remote.maxBytes,
      fetchImage: async (url) => {
        throw new ImageError('PP_REMOTE_DISABLED', `Remote sources are off, so ${url} is not fetched: ${enableHint}, or send the image in the request`);
      },
      close: async () => {},
    };
  }
  const fetcher = createRemoteFetcher(remote);
  return { enabled: true, maxBytes: remote.maxBytes, fetchImage: fetcher.fetchImage, close: fetcher.close };
}

/** The single `url` of a GET image route's query. */
export function sourceUrl(query: Record<string, string | string[] | undefined>): string {
  const url = Array.isArray(query.url) ? query.url[0] : query.url;
  if (!url) throw new ImageError('PP_MISSING_PARAM', 'Missing required param: url (the image to fetch); or POST the image instead');
  return url;
}

/** The fetched images' part of the ETag: a digest of each, by URL. */
export function remoteTag(fetched: ReadonlyMap<string, Buffer>): Record<string, string> | undefined {
  if (fetched.size === 0) return undefined;
  return Object.fromEntries([...fetched].map(([url, data]) => [url, createHash('sha256').update(data).digest('base64url')]));
}
