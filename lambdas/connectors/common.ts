import { z } from 'zod';

/** Pieces every connector type's schema shares. */
export const connectorIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 characters: lowercase letters, digits, "-" or "_", starting with a letter or digit');

export const operationNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 characters: letters, digits, "-" or "_", starting with a letter');

/** A secret is referenced by name; its value lives in SSM at /crm-bridge/{stage}/connectors/{connectorId}/{name}. */
export const secretNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be 1-128 characters: letters, digits, ".", "-" or "_"');

export const retrySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(10).default(3),
    baseDelayMs: z.number().int().min(0).max(60_000).default(500),
  })
  .strict();

/** Fields shared by every connector row, spread into each type's object schema. */
export const baseConnectorFields = {
  connectorId: connectorIdSchema,
  description: z.string().max(1024).optional(),
  enabled: z.boolean().default(true),
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  retry: retrySchema.default({ maxAttempts: 3, baseDelayMs: 500 }),
};

export const httpUrlSchema = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
