/**
 * The SSRF-guarded fetch behind ?url= and /watermarkimage. The guard is in the fetch itself:
 * - every URL, the first and each redirect's, must be http(s), without credentials, and allowed by PP_ALLOWED_ORIGINS;
 * - its host must be, or resolve to, public unicast addresses only (address-guard.ts), checked before connecting;
 * - and again at every connection: undici connects through our connector, whose DNS lookup refuses a non-public
 *   answer and which checks the connected socket's peer address, so a name that resolves one way for the check and
 *   another for the connection (DNS rebinding) is caught where it matters;
 * - redirects are followed by hand (undici follows none), at most maxRedirects;
 * - one deadline covers everything, and the body is counted as it arrives and cut the moment it passes maxBytes,
 *   whatever Content-Length said. Nothing is written to disk; bodies are never decompressed.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { ImageError, isImageError } from '../../core/errors.js';
import type { FetchImage } from '../../core/remote-images.js';
import { version } from '../../version.js';
import { refusedRange } from './address-guard.js';
import type { ResolvedRemote } from './options.js';
import { originAllowed } from './origins.js';

export interface RemoteFetcher {
  readonly fetchImage: FetchImage;
  close(): Promise<void>;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);

const unbracket = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/** The first ImageError in an error's cause chain: undici wraps what our connector and lookup throw. */
function ownError(err: unknown): ImageError | undefined {
  for (let current = err, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    if (isImageError(current)) return current;
  }
  return undefined;
}

export function createRemoteFetcher(remote: ResolvedRemote): RemoteFetcher {
  const testSwitch = remote.testSwitch;
  const resolver: LookupFunction = testSwitch?.lookup ?? (dnsLookup as LookupFunction);

  /** Why `address` is refused, or undefined. The test switch lets its named loopback addresses through, no others. */
  const refusal = (address: string): string | undefined => {
    const bare = unbracket(address);
    if (testSwitch?.allowAddresses.includes(bare)) return undefined;
    return refusedRange(bare);
  };
  const refused = (host: string, address: string, range: string, when: string) =>
    new ImageError('PP_REMOTE_ADDRESS_REFUSED', `Remote host ${host} ${host === address ? 'is' : `resolves to ${address}, which is`} not a public address (${range}); refused ${when}`);

  const resolveAll = (hostname: string) =>
    new Promise<LookupAddress[]>((resolve, reject) => {
      resolver(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses as unknown as LookupAddress[])));
    });

  /** The lookup net.connect uses for every connection undici opens: the check at connect time, after resolution. */
  const guardedLookup: LookupFunction = (hostname, options, callback) => {
    resolveAll(hostname).then(
      (addresses) => {
        for (const { address } of addresses) {
          const range = refusal(address);
          if (range) return callback(refused(hostname, address, range, 'when connecting'), '', 0);
        }
        if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
        if ((options as { all?: boolean }).all) return (callback as unknown as (err: null, all: LookupAddress[]) => void)(null, addresses);
        return callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };

  const baseConnect = buildConnector({ lookup: guardedLookup, timeout: remote.timeoutMs } as buildConnector.BuildOptions);
  const connect: buildConnector.connector = (options, callback) => {
    // net.connect skips the lookup for an IP literal: check it here.
    const host = unbracket(options.hostname);
    const literal = isIP(host) ? refusal(host) : undefined;
    if (literal) return callback(refused(host, host, literal, 'before connecting'), null);
    baseConnect(options, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error('no socket'), null);
      // The peer actually connected to, whatever resolved it: the last word.
      const peer = socket.remoteAddress ?? '';
      const range = refusal(peer);
      if (range) {
        socket.destroy();
        return callback(refused(host, peer, range, 'after connecting'), null);
      }
      return callback(null, socket);
    });
  };
  const agent = new Agent({ connect, connectTimeout: remote.timeoutMs });

  /** Scheme, credentials, allowlist, and the host's addresses: before any connection, for each URL followed. */
  const checkUrl = async (url: URL, signal: AbortSignal): Promise<void> => {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ImageError('PP_REMOTE_URL_INVALID', `Only http: and https: URLs are fetched, not ${url.protocol}`);
    }
    if (url.username || url.password) throw new ImageError('PP_REMOTE_URL_INVALID', 'Remote URLs may not carry a user name or password');
    if (!originAllowed(remote.origins, url)) {
      throw new ImageError('PP_REMOTE_ORIGIN_NOT_ALLOWED', `not allowed remote URL origin: ${url.host}${url.pathname} (PP_ALLOWED_ORIGINS does not list it)`);
    }
    const host = unbracket(url.hostname);
    if (isIP(host)) {
      const range = refusal(host);
      if (range) throw refused(host, host, range, 'before connecting');
      return;
    }
    let addresses: LookupAddress[];
    try {
      // A resolver that never answers must not outlive the deadline.
      addresses = await untilAborted(resolveAll(host), signal);
    } catch (err) {
      throw new ImageError('PP_REMOTE_UNREACHABLE', `error fetching remote http image: ${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'lookup failed'})`, { cause: err });
    }
    for (const { address } of addresses) {
      const range = refusal(address);
      if (range) throw refused(host, address, range, 'before connecting');
    }
  };

  const parse = (raw: string, base?: URL): URL => {
    try {
      return new URL(raw, base);
    } catch {
      throw new ImageError('PP_REMOTE_URL_INVALID', base ? 'The remote server redirected to an invalid URL' : 'Invalid image URL');
    }
  };

  const fetchOnce = async (first: URL, signal: AbortSignal): Promise<Buffer> => {
    let url = first;
    for (let redirects = 0; ; redirects++) {
      await checkUrl(url, signal);
      const response = await request(url, {
        dispatcher: agent,
        method: 'GET',
        signal,
        headers: { 'user-agent': `pixelpress/${version}`, accept: 'image/*' },
        headersTimeout: remote.timeoutMs,
        bodyTimeout: remote.timeoutMs,
      });
      const { statusCode, headers, body } = response;
      if (redirectStatuses.has(statusCode)) {
        discard(body);
        const location = headers.location;
        if (typeof location !== 'string' || location === '') throw new ImageError('PP_REMOTE_TOO_MANY_REDIRECTS', `The remote server answered ${statusCode} without a Location`);
        if (redirects >= remote.maxRedirects) {
          throw new ImageError('PP_REMOTE_TOO_MANY_REDIRECTS', `The remote server redirected more than ${remote.maxRedirects} times (PP_REMOTE_MAX_REDIRECTS)`);
        }
        url = parse(location, url);
        continue;
      }
      if (statusCode !== 200) {
        discard(body);
        throw new ImageError('PP_REMOTE_STATUS', `error fetching remote http image: (status=${statusCode}) (url=${url.href})`, { upstreamStatus: statusCode });
      }
      return readLimited(body, Number(headers['content-length']), remote.maxBytes);
    }
  };

  const fetchImage: FetchImage = async (raw, callerSignal) => {
    const url = parse(raw);
    const seconds = remote.timeoutMs / 1000;
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(new ImageError('PP_REMOTE_TIMEOUT', `The remote image was not fetched within ${seconds} s (PP_REMOTE_TIMEOUT_SECONDS)`)), remote.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([timer.signal, callerSignal]) : timer.signal;
    try {
      return await fetchOnce(url, signal);
    } catch (err) {
      if (timer.signal.aborted) throw timer.signal.reason as ImageError;
      if (callerSignal?.aborted) throw new ImageError('PP_CLIENT_GONE', 'The client closed the connection while its remote image was fetched', { cause: err });
      const own = ownError(err);
      if (own) throw own;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).name;
      throw new ImageError('PP_REMOTE_UNREACHABLE', `error fetching remote http image: ${url.host}: ${code}`, { cause: err });
    } finally {
      clearTimeout(timeout);
    }
  };

  return { fetchImage, close: () => agent.close() };
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort!: () => void;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** Drop a body unread: destroying it closes the connection, and its abort error has nobody to tell. */
function discard(body: { destroy(): void; on(event: 'error', listener: () => void): unknown }): void {
  body.on('error', () => {});
  body.destroy();
}

/** The body, refused as soon as it passes `maxBytes`: first by its declared length, then by the bytes that come. */
async function readLimited(body: AsyncIterable<Buffer> & Parameters<typeof discard>[0], declared: number, maxBytes: number): Promise<Buffer> {
  const tooLarge = (detail: string) => new ImageError('PP_REMOTE_TOO_LARGE', `The remote image ${detail} (PP_REMOTE_MAX_BYTES)`);
  if (declared > maxBytes) {
    discard(body);
    throw tooLarge(`declares ${declared} bytes, over the limit of ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += chunk.length;
    if (length > maxBytes) {
      discard(body);
      throw tooLarge(`sent more than the limit of ${maxBytes} bytes${Number.isFinite(declared) ? ` (it declared ${declared})` : ''}; the download was cut there`);
    }
    chunks.push(chunk);
  }
  if (length === 0) throw new ImageError('PP_MISSING_FILE', 'The remote image is empty');
  return Buffer.concat(chunks, length);
}
