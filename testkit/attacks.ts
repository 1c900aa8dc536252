/**
 * The adversarial review's attacks (reliability round 2), as requests anyone can replay against a running service:
 * npm run stress sends them all while timing /health. Each names its finding and the answers that count as refused.
 */
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { photo } from './images.js';
import { basePng, deflatedRun, pngChunk, PNG_SIGNATURE, withChunks, zTXt } from './png-chunks.js';

export interface AttackOutcome {
  status: number;
  ms: number;
}

export interface Attack {
  name: string;
  /** Statuses that mean the service refused or bounded it (anything else, 5xx or a hang, is a failure). */
  expect: readonly number[];
  send(base: string): Promise<AttackOutcome>;
}

async function post(base: string, path: string, body: Buffer, contentType: string, headers: Record<string, string> = {}): Promise<AttackOutcome> {
  const started = performance.now();
  try {
    const response = await fetch(base + path, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': contentType, ...headers }, signal: AbortSignal.timeout(120_000) });
    await response.arrayBuffer();
    return { status: response.status, ms: performance.now() - started };
  } catch {
    return { status: 0, ms: performance.now() - started };
  }
}

/** Write `head` on a raw socket and return the status line's code (0 when the socket closed without one). */
export function rawRequest(base: string, head: string | Buffer, trickle?: { byte: string; everyMs: number }): Promise<AttackOutcome> {
  const { port } = new URL(base);
  const started = performance.now();
  return new Promise((resolve) => {
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(head);
      if (trickle) timer = setInterval(() => socket.write(trickle.byte), trickle.everyMs);
    });
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), ms: performance.now() - started });
    });
  });
}

const svgType = 'image/svg+xml';

export async function roundTwoAttacks(): Promise<Attack[]> {
  const hrefRedos = gzipSync(`<svg xmlns="http://www.w3.org/2000/svg"><a href=${' '.repeat(60_000)}#x"/></svg>`);
  const doctypes = gzipSync(`<svg xmlns="http://www.w3.org/2000/svg">${'<!DOCTYPE'.repeat(64_000)}</svg>`);
  const cssRedos = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg"><style>a{fill:url(${' '.repeat(200_000)}</style></svg>`);
  const textBomb = withChunks(await basePng(), Array.from({ length: 50 }, (_, i) => zTXt(`k${i}`, deflatedRun(20 * 1024 * 1024))));
  // A PNG whose header declares 13000x13000 (169 MP), in a tiny SVG: only the header is needed to refuse it.
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(13_000, 0);
  ihdr.writeUInt32BE(13_000, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit grey
  const hugeRaster = Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflatedRun(13_001 * 64, 0)), pngChunk('IEND', Buffer.alloc(0))]);
  const embedded = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><image width="64" height="64" href="data:image/png;base64,${hugeRaster.toString('base64')}"/></svg>`);
  const nested = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><image width="64" height="64" href="data:image/svg+xml;base64,${Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>').toString('base64')}"/></svg>`);
  const large = await photo(4000, 4000);
  const tiny = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#fff' } }).jpeg().toBuffer();
  const blurTen = encodeURIComponent(JSON.stringify(Array.from({ length: 10 }, () => ({ operation: 'blur', params: { sigma: 50 } }))));
  const watermarkTen = encodeURIComponent(JSON.stringify(Array.from({ length: 10 }, () => ({ operation: 'watermark', params: { text: 'W W W W', font: 'sans 160', dpi: 2400, textwidth: 16383 } }))));
  const longBoundary = 'b'.repeat(300);

  return [
    // The reproductions are also malformed XML (an unquoted attribute, DOCTYPE inside an element): 422 is a refusal too.
    { name: 'svgz href whitespace run (ReDoS, finding 1)', expect: [415, 422], send: (b) => post(b, '/resize?width=10', hrefRedos, svgType) },
    { name: 'svgz 64,000 <!DOCTYPE (ReDoS, finding 1)', expect: [415, 422], send: (b) => post(b, '/resize?width=10', doctypes, svgType) },
    { name: 'SVG CSS url( whitespace run (ReDoS, finding 1)', expect: [415, 422], send: (b) => post(b, '/resize?width=10', cssRedos, svgType) },
    { name: 'PNG with 50 zTXt of 20 MB on /info (metadata bomb, finding 3)', expect: [413], send: (b) => post(b, '/info', textBomb, 'image/png') },
    { name: 'PNG with 50 zTXt of 20 MB on /resize (metadata bomb, finding 3)', expect: [413], send: (b) => post(b, '/resize?width=10', textBomb, 'image/png') },
    { name: '16 MP photo to AVIF at speed 1 (deadline, finding 4)', expect: [200, 503], send: (b) => post(b, '/convert?type=avif&speed=1', large, 'image/jpeg') },
    { name: 'watermark 160 pt at 2400 dpi (text limits, finding 5)', expect: [400], send: (b) => post(b, '/watermark?text=W%20W%20W%20W&font=sans%20160&dpi=2400&textwidth=16383&width=16383&height=3000', tiny, 'image/jpeg') },
    { name: 'ten watermark steps (text limits, finding 5)', expect: [400], send: (b) => post(b, `/pipeline?operations=${watermarkTen}`, tiny, 'image/jpeg') },
    { name: 'ten heavy blur steps (one deadline, finding 6)', expect: [200, 503], send: (b) => post(b, `/pipeline?operations=${blurTen}`, large, 'image/jpeg') },
    { name: 'SVG embedding a 169 MP PNG (finding 7)', expect: [413], send: (b) => post(b, '/resize?width=10', embedded, svgType) },
    { name: 'SVG nesting an unsafe SVG data: URI (finding 7)', expect: [415], send: (b) => post(b, '/resize?width=10', nested, svgType) },
    {
      name: 'multipart boundary of 300 characters (finding 9)',
      expect: [400],
      send: (b) => post(b, '/', Buffer.from('x'), `multipart/form-data; boundary=${longBoundary}`),
    },
    { name: 'minampl=1e-300 (parameter error, finding 12)', expect: [400], send: (b) => post(b, '/blur?sigma=2&minampl=1e-300', tiny, 'image/jpeg') },
    { name: 'malformed request line (Node error, finding 12)', expect: [400], send: (b) => rawRequest(b, 'GARBAGE\r\n\r\n') },
  ];
}

/** One slow-loris upload: headers promising a body, then a byte every `everyMs` (finding 8). */
export function slowLoris(base: string, everyMs = 5_000): Promise<AttackOutcome> {
  return rawRequest(base, 'POST /resize?width=10 HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 1000000\r\n\r\n\xff', { byte: '\xd8', everyMs });
}
