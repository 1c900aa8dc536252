/** Server configuration from the environment: one table of names, defaults and meanings (the README's). */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { defaultDecodePolicy, defaultLimits, limitEnv, type DecodePolicy, type Limits } from '../core/limits.js';
import { checkPresets } from '../core/pipeline.js';
import { mergePresets, noPresets, parsePresets, type Presets } from '../core/presets.js';
import { defaultUploadPace, type UploadPace } from '../http/input.js';
import { checkAccessOptions, type AccessOptions } from '../http/plugins/access/index.js';
import { defaultRemoteOptions, resolveRemote, type RemoteOptions } from '../http/remote/options.js';
import { defaultMaxReceiving, defaultReceiveLimits, schedulerOptions, type SchedulerOptions } from '../http/scheduler.js';

export interface ServerConfig {
  host: string;
  port: number;
  limits: Limits;
  decode: DecodePolicy;
  /** Per worker process. */
  scheduler: Required<SchedulerOptions>;
  /** Minimum upload rate and body deadline: a slower upload is answered 408 and gives its place back. */
  upload: UploadPace;
  /** Worker processes under the supervisor; 0 runs the server in this process, unsupervised. */
  workers: number;
  /** Worker deaths within a minute after which the supervisor exits 1 (a crash loop the orchestrator should see). */
  crashLoopDeaths: number;
  /** libvips threads per image (sharp.concurrency). */
  sharpConcurrency: number;
  logLevel: string;
  /** Seconds in-flight requests get to finish after SIGTERM/SIGINT before the process exits anyway. */
  shutdownGraceSeconds: number;
  /** Whole-request receive time, headers included: Node's backstop behind the upload watchdog. */
  requestTimeoutSeconds: number;
  /** Time to send the request headers. */
  headersTimeoutSeconds: number;
  /** Idle time a kept-alive connection is held open. */
  keepAliveTimeoutSeconds: number;
  /** API key, URL signature key, CORS origins (README "Access control"); each off when unset. */
  access: AccessOptions;
  /** imaginary's -http-cache-ttl: Cache-Control on image responses; -1 sends none. */
  httpCacheTtlSeconds: number;
  /** Named pipelines, served at POST /preset/{name}; checked here, so a bad one stops the service at start. */
  presets: Presets;
  /** GET ?url= and /watermarkimage: off unless PP_ENABLE_URL_SOURCE; docs/remote-sources.md. */
  remote: RemoteOptions;
}

function listFromEnv(env: NodeJS.ProcessEnv, name: string): string[] {
  return (env[name] ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
}

function integerFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`Expected integer of at least ${min} for ${name} but received ${JSON.stringify(raw)}`);
  return value;
}

function booleanFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new Error(`Expected true or false for ${name} but received ${JSON.stringify(env[name])}`);
}

/** PP_PRESETS (JSON) and the file PP_PRESETS_FILE names, read once at start-up, never while serving. */
function presetsFromEnv(env: NodeJS.ProcessEnv, limits: Limits): Presets {
  const inline = env.PP_PRESETS ? parsePresets(env.PP_PRESETS, 'PP_PRESETS') : noPresets;
  let fromFile = noPresets;
  const file = env.PP_PRESETS_FILE;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`PP_PRESETS_FILE ${JSON.stringify(file)} cannot be read: ${(err as Error).message}`);
    }
    fromFile = parsePresets(text, `PP_PRESETS_FILE (${file})`);
  }
  const presets = mergePresets(inline, fromFile);
  checkPresets(presets, limits);
  return presets;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const limits = { ...defaultLimits };
  for (const key of Object.keys(limitEnv) as (keyof Limits)[]) {
    limits[key] = integerFromEnv(env, limitEnv[key], defaultLimits[key]);
  }
  const access: AccessOptions = {
    apiKey: env.PP_API_KEY || undefined,
    urlSignatureKey: env.PP_URL_SIGNATURE_KEY || undefined,
    corsOrigins: listFromEnv(env, 'PP_CORS_ORIGINS'),
  };
  // Fail in the supervisor at start, not in every worker in a restart loop.
  checkAccessOptions(access);
  const cores = availableParallelism();
  const workers = integerFromEnv(env, 'PP_WORKERS', cores, 0);
  const defaults = schedulerOptions({ concurrency: integerFromEnv(env, 'PP_CONCURRENCY', schedulerOptions().concurrency) });
  const { concurrency } = defaults;
  const queueSize = integerFromEnv(env, 'PP_QUEUE_SIZE', defaults.queueSize, 0);
  return {
    host: env.HOST || '127.0.0.1',
    // PORT=0 asks the OS for a free port (tests use it).
    port: integerFromEnv(env, 'PORT', 8000, 0),
    limits,
    decode: {
      lenient: booleanFromEnv(env, 'PP_LENIENT_DECODE', defaultDecodePolicy.lenient),
      svg: booleanFromEnv(env, 'PP_ALLOW_SVG', defaultDecodePolicy.svg),
    },
    scheduler: {
      concurrency,
      queueSize,
      // Receiving costs a socket and the bytes that arrived, not a processing place.
      maxReceiving: integerFromEnv(env, 'PP_MAX_RECEIVING', defaultMaxReceiving(concurrency, queueSize)),
      maxReceiveBytes: integerFromEnv(env, 'PP_MAX_RECEIVE_BYTES', defaultReceiveLimits.maxReceiveBytes),
    },
    upload: {
      minBytesPerSecond: integerFromEnv(env, 'PP_MIN_UPLOAD_BYTES_PER_SECOND', defaultUploadPace.minBytesPerSecond, 0),
      graceSeconds: integerFromEnv(env, 'PP_UPLOAD_GRACE_SECONDS', defaultUploadPace.graceSeconds, 0),
      bodyTimeoutSeconds: integerFromEnv(env, 'PP_BODY_TIMEOUT_SECONDS', defaultUploadPace.bodyTimeoutSeconds),
    },
    workers,
    crashLoopDeaths: integerFromEnv(env, 'PP_CRASH_LOOP_DEATHS', 30),
    sharpConcurrency: integerFromEnv(env, 'PP_SHARP_CONCURRENCY', cores),
    logLevel: env.LOG_LEVEL || 'info',
    shutdownGraceSeconds: integerFromEnv(env, 'PP_SHUTDOWN_GRACE_SECONDS', 10),
    requestTimeoutSeconds: integerFromEnv(env, 'PP_REQUEST_TIMEOUT_SECONDS', 60),
    headersTimeoutSeconds: integerFromEnv(env, 'PP_HEADERS_TIMEOUT_SECONDS', 10),
    keepAliveTimeoutSeconds: integerFromEnv(env, 'PP_KEEP_ALIVE_TIMEOUT_SECONDS', 5),
    access,
    httpCacheTtlSeconds: integerFromEnv(env, 'PP_HTTP_CACHE_TTL', -1, -1),
    presets: presetsFromEnv(env, limits),
    remote: remoteFromEnv(env),
  };
}

/** Checked here too, so a bad allowlist stops the supervisor at start rather than every worker. */
function remoteFromEnv(env: NodeJS.ProcessEnv): RemoteOptions {
  const remote: RemoteOptions = {
    enabled: booleanFromEnv(env, 'PP_ENABLE_URL_SOURCE', defaultRemoteOptions.enabled),
    allowedOrigins: listFromEnv(env, 'PP_ALLOWED_ORIGINS'),
    maxBytes: integerFromEnv(env, 'PP_REMOTE_MAX_BYTES', defaultRemoteOptions.maxBytes),
    timeoutSeconds: integerFromEnv(env, 'PP_REMOTE_TIMEOUT_SECONDS', defaultRemoteOptions.timeoutSeconds),
    maxRedirects: integerFromEnv(env, 'PP_REMOTE_MAX_REDIRECTS', defaultRemoteOptions.maxRedirects, 0),
  };
  resolveRemote(remote);
  return remote;
}

/**
 * Every environment variable configFromEnv reads, found by running it on an empty environment that records each
 * name asked for: a new setting is listed (for `pixelpress serve` flags and the docs' checks) without a second table.
 */
export function configEnvNames(): string[] {
  const names = new Set<string>();
  const recorder = new Proxy({} as NodeJS.ProcessEnv, {
    get(_target, name) {
      if (typeof name === 'string') names.add(name);
      return undefined;
    },
  });
  configFromEnv(recorder);
  return [...names];
}
