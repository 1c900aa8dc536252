/**
 * Images a pipeline names by URL (watermarkImage's `image`), fetched before any pixel is processed. Core never opens a
 * connection: whoever runs the pipeline hands in a `FetchImage`, and the HTTP server's is the SSRF-guarded one in
 * src/http/remote/. Without one (the CLI, a library call that gives none) such a step is refused with a clear error.
 */
import { ImageError } from './errors.js';
import type { PreparedStep } from './pipeline.js';

/** Fetch the bytes at `url`, or throw an ImageError saying why not; `signal` aborts it. */
export type FetchImage = (url: string, signal?: AbortSignal) => Promise<Buffer>;

/** The URLs `prepared` needs, once each, in order. */
export function remoteImageUrls(prepared: readonly PreparedStep[]): string[] {
  return [...new Set(prepared.flatMap((step) => step.operation.remoteImages(step.options)))];
}

/** Fetch every image the steps name; an empty map when none does. One at a time: each holds up to its byte limit. */
export async function fetchRemoteImages(prepared: readonly PreparedStep[], fetchImage: FetchImage | undefined, signal?: AbortSignal): Promise<Map<string, Buffer>> {
  const urls = remoteImageUrls(prepared);
  const fetched = new Map<string, Buffer>();
  if (urls.length === 0) return fetched;
  if (!fetchImage) {
    throw new ImageError('PP_REMOTE_DISABLED', 'This pipeline fetches an image from a URL, and no remote fetcher is available here (the HTTP server has one when PP_ENABLE_URL_SOURCE=true; the CLI has none)');
  }
  for (const url of urls) fetched.set(url, await fetchImage(url, signal));
  return fetched;
}

/** The fetched image for `url`, as `apply` reads it from its context. */
export function remoteImage(remote: ReadonlyMap<string, Buffer> | undefined, url: string): Buffer {
  const data = remote?.get(url);
  if (!data) throw new ImageError('PP_REMOTE_DISABLED', `The image at ${url} was not fetched: this step needs a remote fetcher`);
  return data;
}
