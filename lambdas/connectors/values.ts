import * as z from 'zod';
import { secretNameSchema } from './common';
import type { SecretSource } from './secret-source';
import { lazyObject } from '../shared/lazy';

/** A reference to a connector secret (SSM SecureString). */
export const secretRefSchema = lazyObject(() => z.object({ secret: secretNameSchema }).strict());
/** A configuration value given inline, or read from a connector secret. */
export const valueSourceSchema = lazyObject(() => z.union([z.string().max(4096), secretRefSchema]));
export type ValueSource = z.infer<typeof valueSourceSchema>;

/** Header names as RFC 9110 tokens. */
export const headersSchema = lazyObject(() =>
  z.record(
    z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'must be a valid HTTP header name'),
    valueSourceSchema,
  ),
);

export async function resolveValue(value: ValueSource, connectorId: string, secrets: SecretSource): Promise<string> {
  return typeof value === 'string' ? value : secrets.get(connectorId, value.secret);
}

export async function resolveHeaders(
  headers: Record<string, ValueSource> | undefined,
  connectorId: string,
  secrets: SecretSource,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {}))
    out[name.toLowerCase()] = await resolveValue(value, connectorId, secrets);
  return out;
}
