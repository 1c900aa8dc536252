/** Remote sources' configuration: off by default; when on, an allowlist and limits on bytes, time and redirects. */
import type { LookupFunction } from 'node:net';
import { refusedRange } from './address-guard.js';
import { parseOrigins, type Origins } from './origins.js';

export interface RemoteOptions {
  /** PP_ENABLE_URL_SOURCE: GET /<operation>?url=… and /watermarkimage fetch images. Off by default. */
  enabled: boolean;
  /** PP_ALLOWED_ORIGINS entries (origins.ts); `*` allows any host. Required when enabled. */
  allowedOrigins: readonly string[];
  /** Bytes one fetch may bring, counted as they arrive whatever Content-Length says. */
  maxBytes: number;
  /** Seconds one fetch may take in all: every redirect, the headers and the whole body. */
  timeoutSeconds: number;
  /** Redirects followed; each is checked like the first URL. 0 refuses every redirect. */
  maxRedirects: number;
}

/**
 * 20 MiB holds any photograph a phone takes (a 48 MP JPEG is about 15 MB) and bounds the memory each fetch holds.
 * 10 s is a slow CDN's worst case, and an attacker's slow server holds a receive place for no longer. imgproxy follows
 * 10 redirects; image hosts use one or two, and each is another chance to point inward, so 3.
 */
export const defaultRemoteOptions: Readonly<RemoteOptions> = Object.freeze({
  enabled: false,
  allowedOrigins: [],
  maxBytes: 20 * 1024 * 1024,
  timeoutSeconds: 10,
  maxRedirects: 3,
});

/**
 * The guard's test switch: lets the SSRF tests fetch from local servers. It is a symbol-keyed option of buildApp that
 * no configuration, environment variable or JSON can set; it only names loopback addresses (each exactly); and it is
 * refused unless the process runs under `node --test` (which sets NODE_TEST_CONTEXT). `lookup` replaces DNS, so
 * a test can make a name's answer change between the check and the connection.
 */
export const remoteTestSwitch = Symbol('pixelpress.remote.test-switch');

export interface RemoteTestSwitch {
  /** Loopback addresses the guard lets through, e.g. ['127.0.0.2']; any other stays refused. */
  allowAddresses: readonly string[];
  lookup?: LookupFunction;
}

export interface RemoteSettings extends RemoteOptions {
  [remoteTestSwitch]?: RemoteTestSwitch;
}

export interface ResolvedRemote {
  enabled: boolean;
  origins: Origins;
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  testSwitch: RemoteTestSwitch | undefined;
}

/** Check the options once, when the app is built: a bad allowlist stops the service with a message. */
export function resolveRemote(given: Partial<RemoteSettings> = {}): ResolvedRemote {
  const options = { ...defaultRemoteOptions, ...given };
  if (typeof options.enabled !== 'boolean') throw new TypeError(`Expected true or false for remote enabled but received ${JSON.stringify(options.enabled)}`);
  if (!Array.isArray(options.allowedOrigins) || !options.allowedOrigins.every((entry) => typeof entry === 'string')) {
    throw new TypeError('Expected an array of host strings for remote allowedOrigins');
  }
  for (const key of ['maxBytes', 'timeoutSeconds'] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 1) throw new TypeError(`Expected positive integer for remote ${key} but received ${String(options[key])}`);
  }
  if (!Number.isInteger(options.maxRedirects) || options.maxRedirects < 0) throw new TypeError(`Expected non-negative integer for remote maxRedirects but received ${String(options.maxRedirects)}`);
  if (options.enabled && options.allowedOrigins.length === 0) {
    throw new Error('PP_ENABLE_URL_SOURCE is on but PP_ALLOWED_ORIGINS is empty: list the hosts to fetch from, or * for any public host');
  }
  const testSwitch = given[remoteTestSwitch];
  if (testSwitch) checkTestSwitch(testSwitch);
  return {
    enabled: options.enabled,
    origins: parseOrigins(options.allowedOrigins),
    maxBytes: options.maxBytes,
    timeoutMs: options.timeoutSeconds * 1000,
    maxRedirects: options.maxRedirects,
    testSwitch,
  };
}

function checkTestSwitch(testSwitch: RemoteTestSwitch): void {
  if (!process.env.NODE_TEST_CONTEXT) throw new Error('The remote-source test switch works only in tests run by node --test');
  for (const address of testSwitch.allowAddresses) {
    if (refusedRange(address) !== 'loopback') throw new Error(`The remote-source test switch allows loopback addresses only, not ${address}`);
  }
}
