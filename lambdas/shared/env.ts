import { ConfigurationError } from './errors';

/**
 * Environment access for Lambda code. Read once at module scope; a missing or
 * malformed variable stops the cold start with a message naming it, instead of
 * surfacing later as an empty table name or NaN timeout. Names, defaults and
 * bounds come from the contract the stack sets them by (lambdas/contract/env.ts).
 */
import {
  CHOICE_SETTINGS,
  INT_SETTINGS,
  type ChoiceSetting,
  type ChoiceValue,
  type HandlerEnvSpec,
  type IntSetting,
} from '../contract/env';

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
    throw new ConfigurationError(
      `Environment variable ${name} must be an integer between ${min} and ${max}, got "${raw}"`,
    );
  }
  return value;
}

/** An integer setting of the contract (lambdas/contract/env.ts), with its default and bounds. */
export function intSetting(name: IntSetting, env: Env = process.env): number {
  const { default: defaultValue, min, max } = INT_SETTINGS[name];
  return intEnv(name, defaultValue, { min, max }, env);
}

/** A setting with a fixed set of values; unset (or blank) is the first. */
export function choiceSetting<N extends ChoiceSetting>(name: N, env: Env = process.env): ChoiceValue<N> {
  const values: readonly string[] = CHOICE_SETTINGS[name];
  const value = optionalEnv(name, env) ?? values[0]!;
  if (!values.includes(value)) {
    throw new ConfigurationError(
      `Environment variable ${name} must be one of ${values
        .filter(Boolean)
        .map((v) => `"${v}"`)
        .join(', ')} or unset, got "${value}"`,
    );
  }
  return value as ChoiceValue<N>;
}

/** What readEnv gives for a spec: resources as strings, settings as numbers, choices as their values. */
export type HandlerEnv<S extends HandlerEnvSpec> = { readonly [K in S['resources'][number]]: string } & {
  readonly [K in S['settings'][number]]: number;
} & {
  readonly [K in S['choices'][number]]: ChoiceValue<K>;
} & { readonly [K in S['optional'][number]]?: string };

/**
 * Everything one handler reads (CONTROLLER_ENV, WORKER_ENV), read at once: a cold
 * start with a missing or out-of-range variable stops here, naming every one.
 */
export function readEnv<S extends HandlerEnvSpec>(spec: S, env: Env = process.env): HandlerEnv<S> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  const read = (name: string, get: () => unknown) => {
    try {
      values[name] = get();
    } catch (err) {
      if (!(err instanceof ConfigurationError)) throw err;
      problems.push(err.message);
    }
  };
  for (const name of spec.resources) read(name, () => requireEnv(name, env));
  for (const name of spec.settings) read(name, () => intSetting(name, env));
  for (const name of spec.choices) read(name, () => choiceSetting(name, env));
  for (const name of spec.optional) values[name] = optionalEnv(name, env);
  if (problems.length > 0) throw new ConfigurationError(problems.join('; '));
  return values as HandlerEnv<S>;
}
