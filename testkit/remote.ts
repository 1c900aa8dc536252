/**
 * Local origin servers for the remote-source tests, and the guard's test switch pointing names at them. The "public"
 * origin listens on 127.0.0.2, the one loopback address the switch lets through; the "internal" one on 127.0.0.1
 * stands for what an attacker wants to reach, and counts every request it gets (it must get none).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo, type LookupFunction } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { remoteTestSwitch, type RemoteOptions, type RemoteSettings } from '../src/http/remote/options.js';
import { testApp } from './http.js';

export const publicAddress = '127.0.0.2';
export const internalAddress = '127.0.0.1';

export type Handler = (request: IncomingMessage, response: ServerResponse) => void;

export interface Origin {
  readonly server: Server;
  readonly port: number;
  /** Requests received, by path. */
  readonly hits: string[];
  /** Sockets accepted: a refused connection never gets this far. */
  connections: number;
  /** Bytes the handlers wrote, for the tests that must show a download was cut. */
  written: number;
  close(): Promise<void>;
}

export async function startOrigin(address: string, routes: Record<string, Handler>): Promise<Origin> {
  const origin = { hits: [] as string[], connections: 0, written: 0 } as Origin & { server: Server; port: number };
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    origin.hits.push(path);
    const handler = routes[path];
    if (!handler) {
      response.writeHead(404).end('no such image');
      return;
    }
    handler(request, response);
  });
  server.on('connection', () => origin.connections++);
  server.listen(0, address);
  await once(server, 'listening');
  Object.assign(origin, {
    server,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  });
  return origin;
}

/**
 * A resolver standing in for DNS: each name answers from its list, one entry per lookup, the last one repeated; an
 * empty list never answers (a resolver that hangs); an unlisted name is ENOTFOUND.
 */
export function fakeDns(answers: Record<string, string[]>): { lookup: LookupFunction; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (err: NodeJS.ErrnoException | null, address: unknown, family?: number) => void) => {
    const list = answers[hostname];
    const count = (calls[hostname] = (calls[hostname] ?? 0) + 1);
    if (!list) return process.nextTick(() => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), undefined));
    if (list.length === 0) return;
    const address = list[Math.min(count, list.length) - 1]!;
    const family = isIP(address);
    process.nextTick(() => (options.all ? callback(null, [{ address, family }]) : callback(null, address, family)));
  }) as unknown as LookupFunction;
  return { lookup, calls };
}

/** An app with remote sources on and the test switch letting 127.0.0.2 (only) through, names resolved by `lookup`. */
export function remoteApp(options: Partial<RemoteOptions>, lookup: LookupFunction): Promise<FastifyInstance> {
  const remote: Partial<RemoteSettings> = {
    enabled: true,
    allowedOrigins: ['*'],
    ...options,
    [remoteTestSwitch]: { allowAddresses: [publicAddress], lookup },
  };
  return testApp({ remote });
}

export function sendImage(data: Buffer, type = 'image/png'): Handler {
  return (_request, response) => {
    response.writeHead(200, { 'content-type': type, 'content-length': data.length }).end(data);
  };
}

/** The value of one series of a Prometheus counter in /metrics, 0 when absent. */
export async function counter(app: FastifyInstance, name: string, labels: string): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((row) => row.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
