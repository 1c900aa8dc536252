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

function integerFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`Expected integer of at least ${min} for ${name} but received ${JSON.stringify(raw)}`);
  return value;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const limits = { ...defaultLimits };
  for (const key of Object.keys(limitEnv) as (keyof Limits)[]) {
    limits[key] = integerFromEnv(env, limitEnv[key], defaultLimits[key]);
  }
  return {
    host: env.HOST || '127.0.0.1',
    // PORT=0 asks the OS for a free port (tests use it).
    port: integerFromEnv(env, 'PORT', 8000, 0),
    limits,
    logLevel: env.LOG_LEVEL || 'info',
    shutdownGraceSeconds: integerFromEnv(env, 'PP_SHUTDOWN_GRACE_SECONDS', 10),
  };
}
