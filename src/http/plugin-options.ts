/**
 * The plugin's options, checked when it is registered: an unknown name (`limit` for `limits`) or a value of the wrong
 * kind would otherwise be ignored silently and the service would run on defaults nobody chose.
 */
import { defaultDecodePolicy, defaultLimits } from '../core/limits.js';
import type { CacheOptions } from './cache.js';
import { checkAccessOptions, type AccessOptions } from './plugins/access/index.js';
import type { RemoteOptions } from './remote/options.js';
import type { SchedulerOptions } from './scheduler.js';
import { defaultUploadPace } from './input.js';

/** Every key of T, listed once: adding an option to the type without listing it here fails to compile. */
const keysOf = <T>(all: Record<keyof T, true>): string[] => Object.keys(all);

/** Fastify's own register() options arrive in the same object. */
const fastifyOptions = ['prefix', 'logLevel', 'logSerializers'];
const groups: Record<string, readonly string[] | 'any'> = {
  limits: Object.keys(defaultLimits),
  decode: Object.keys(defaultDecodePolicy),
  access: keysOf<AccessOptions>({ apiKey: true, urlSignatureKey: true, corsOrigins: true }),
  scheduler: keysOf<SchedulerOptions>({ concurrency: true, queueSize: true, maxReceiving: true, maxReceiveBytes: true }),
  upload: Object.keys(defaultUploadPace),
  cache: keysOf<CacheOptions>({ ttlSeconds: true }),
  presets: 'any',
  docs: [],
  // Values are checked by resolveRemote, as the environment's are; the tests' symbol-keyed switch is not listed here.
  remote: keysOf<RemoteOptions>({ enabled: true, allowedOrigins: true, maxBytes: true, timeoutSeconds: true, maxRedirects: true }),
};

function fail(message: string): never {
  throw new TypeError(`pixelpress plugin: ${message}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkNumbers(group: string, values: Record<string, unknown>, min: number): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) fail(`${group}.${name} must be an integer of at least ${min}, not ${JSON.stringify(value)}`);
  }
}

export function checkPluginOptions(options: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(options)) {
    if (fastifyOptions.includes(name) || value === undefined) continue;
    const known = groups[name];
    if (known === undefined) fail(`unknown option ${JSON.stringify(name)}; the options are ${Object.keys(groups).join(', ')}`);
    if (name === 'docs') {
      if (typeof value !== 'boolean') fail(`docs must be true or false, not ${JSON.stringify(value)}`);
      continue;
    }
    if (!isPlainObject(value)) fail(`${name} must be an object`);
    if (known === 'any') continue;
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) fail(`unknown option ${name}.${key}; ${name} takes ${known.join(', ')}`);
    }
  }
  const { decode, scheduler, upload, cache, access } = options as Record<string, Record<string, unknown> | undefined>;
  for (const [key, value] of Object.entries(decode ?? {})) {
    if (value !== undefined && typeof value !== 'boolean') fail(`decode.${key} must be true or false, not ${JSON.stringify(value)}`);
  }
  if (scheduler) {
    const { concurrency, ...rest } = scheduler;
    checkNumbers('scheduler', { concurrency }, 1);
    checkNumbers('scheduler', rest, 0);
  }
  if (upload) checkNumbers('upload', upload, 0);
  if (cache) checkNumbers('cache', cache, -1);
  // Limits are checked by resolveLimits, presets by checkPresets: the same checks the server's environment gets.
  if (access) {
    if (access.apiKey !== undefined && typeof access.apiKey !== 'string') fail('access.apiKey must be a string (empty leaves the key off)');
    if (access.corsOrigins !== undefined && !Array.isArray(access.corsOrigins)) fail('access.corsOrigins must be an array of origins');
    checkAccessOptions(access as AccessOptions);
  }
}
