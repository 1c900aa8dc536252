/** Load generation over HTTP with autocannon, and the request bodies every server is sent. */
import autocannon from 'autocannon';
import type { Fixture } from './fixtures.js';

/** How long a run lasts: a time for fast workloads, a request count for slow ones (AVIF, memory). */
export type RunLength = { seconds: number } | { amount: number };

export interface Measure {
  /** Successful (2xx) answers counted in the run. */
  requests: number;
  seconds: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors, timeouts and non-2xx answers. */
  errors: number;
  /** What the errors were, e.g. "503 x6, timeout x1"; empty when there were none. */
  errorDetail: string;
  /** CPU milliseconds the server (its whole process tree) used during the run; filled in by whoever measured it. */
  cpuMs?: number;
}

export interface HttpRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** The FastAPI original's contract: multipart/form-data with the image in field `img`. */
export function multipartRequest(path: string, fixture: Fixture): HttpRequest {
  const boundary = '----pixelpress-bench-7f3a9c';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="img"; filename="${fixture.name}${fixture.mime === 'image/png' ? '.png' : '.jpg'}"\r\n` +
      `Content-Type: ${fixture.mime}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { path, headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body: Buffer.concat([head, fixture.data, tail]) };
}

/** imaginary's contract: the image bytes as the whole body. */
export function rawRequest(path: string, fixture: Fixture): HttpRequest {
  return { path, headers: { 'Content-Type': fixture.mime }, body: fixture.data };
}

/**
 * One autocannon run. Several requests cycle in order on every connection (the W5 mix). Keep-alive, no
 * pipelining, like a pool of ordinary HTTP clients.
 */
export async function httpLoad(baseUrl: string, requests: HttpRequest[], connections: number, length: RunLength): Promise<Measure> {
  const byAmount = 'amount' in length;
  const result = await autocannon({
    url: baseUrl,
    // autocannon needs at least one request per connection.
    connections: byAmount ? Math.min(connections, length.amount) : connections,
    ...(byAmount ? { amount: length.amount } : { duration: length.seconds }),
    // Eight 4 MP AVIF encodes queued on two cores take tens of seconds: only a hung server should time out.
    timeout: 300,
    requests: requests.map((request) => ({ method: 'POST', ...request })),
  });
  const requestsOk = result['2xx'];
  const detail = Object.entries(result.statusCodeStats)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, { count }]) => `${code} x${count}`);
  if (result.timeouts) detail.push(`timeout x${result.timeouts}`);
  if (result.errors > result.timeouts) detail.push(`connection error x${result.errors - result.timeouts}`);
  return {
    requests: requestsOk,
    seconds: result.duration,
    reqPerSec: requestsOk / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx,
    errorDetail: detail.join(', '),
  };
}

/** Nearest-rank percentile of latencies already sorted ascending (what the in-process floor reports). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
