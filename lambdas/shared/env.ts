import { ConfigurationError } from './errors';

/**
 * Environment access for Lambda code. Read once at module scope; a missing or
 * malformed variable stops the cold start with a message naming it, instead of
 * surfacing later as an empty table name or NaN timeout.
 */
type Env = Record<string, string | undefined>;

export function requireEnv(name: string, env: Env = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigurationError(`Environment variable ${name} is required but not set`);
  }
  return value;
}

export function optionalEnv(name: string, env: Env = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

export function intEnv(
  name: string,
  defaultValue: number,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
  env: Env = process.env,
): number {
  const raw = optionalEnv(name, env);
  if (raw === undefined) return defaultValue;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`Environment variable ${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}
