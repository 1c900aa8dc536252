/** Server configuration from the environment: one table of names, defaults and meanings (the README's). */
import { defaultLimits, limitEnv, type Limits } from '../core/limits.js';

export interface ServerConfig {
  host: string;
  port: number;
  limits: Limits;
  logLevel: string;
  /** Seconds in-flight requests get to finish after SIGTERM/SIGINT before the process exits anyway. */
  shutdownGraceSeconds: number;
}

function integerFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`Expected positive integer for ${name} but received ${JSON.stringify(raw)}`);
  return value;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const limits = { ...defaultLimits };
  for (const key of Object.keys(limitEnv) as (keyof Limits)[]) {
    limits[key] = integerFromEnv(env, limitEnv[key], defaultLimits[key]);
  }
  return {
    host: env.HOST || '127.0.0.1',
    port: integerFromEnv(env, 'PORT', 8000),
    limits,
    logLevel: env.LOG_LEVEL || 'info',
    shutdownGraceSeconds: integerFromEnv(env, 'PP_SHUTDOWN_GRACE_SECONDS', 10),
  };
}
