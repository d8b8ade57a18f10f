import * as z from 'zod';
import { RequestPreparationError } from '../shared/errors';
import { jmespathSchema } from './mapping';
import { MAX_CONNECTOR_ATTEMPTS } from '../contract/queue';
import { lazyObject } from '../shared/lazy';

/** Pieces every connector type's schema shares. */
export const connectorIdSchema = lazyObject(() =>
  z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9_-]{0,63}$/,
      'must be 1-64 characters: lowercase letters, digits, "-" or "_", starting with a letter or digit',
    ),
);

export const operationNameSchema = lazyObject(() =>
  z
    .string()
    .regex(
      /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
      'must be 1-64 characters: letters, digits, "-" or "_", starting with a letter',
    ),
);

/** A secret is referenced by name; its value lives in SSM at /crm-bridge/{stage}/connectors/{connectorId}/{name}. */
export const secretNameSchema = lazyObject(() =>
  z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be 1-128 characters: letters, digits, ".", "-" or "_"'),
);

export const retrySchema = lazyObject(() =>
  z
    .object({
      maxAttempts: z.number().int().min(1).max(MAX_CONNECTOR_ATTEMPTS).default(3),
      baseDelayMs: z.number().int().min(0).max(60_000).default(500),
    })
    .strict(),
);

/** A Salesforce API name: sObject, Platform Event or field (Account, Order__c, Callout_Result__e, ns__Field__c). */
export const salesforceNameSchema = lazyObject(() =>
  z
    .string()
    .regex(
      /^[A-Za-z][A-Za-z0-9_]{0,79}$/,
      'must be a Salesforce API name: letters, digits and "_", starting with a letter',
    ),
);

/** Salesforce field name -> JMESPath over {result, error, job}. */
const deliveryFieldsSchema = lazyObject(() => z.record(salesforceNameSchema, jmespathSchema));

/**
 * Where a job's outcome goes in Salesforce once the job has ended (see
 * docs/salesforce-connector.md): fields written onto the calling record
 * (`recordId` of the callout) and/or a Platform Event. `connectorId` names a
 * `salesforce` connector, which gives the org, the credentials and the retry settings.
 */
export const deliverySchema = lazyObject(() =>
  z
    .object({
      connectorId: connectorIdSchema,
      /** Which outcomes are delivered. */
      on: z
        .array(z.enum(['SUCCEEDED', 'FAILED']))
        .min(1)
        .default(['SUCCEEDED', 'FAILED']),
      recordUpdate: z
        .object({
          sobject: salesforceNameSchema,
          fields: deliveryFieldsSchema.refine((f) => Object.keys(f).length > 0, 'must map at least one field'),
        })
        .strict()
        .optional(),
      platformEvent: z
        .object({
          sobject: salesforceNameSchema
            .refine((n) => n.endsWith('__e'), 'must be a Platform Event (API name ending in "__e")')
            .default('Callout_Result__e'),
          /** Extra event fields, besides the standard ones. */
          fields: deliveryFieldsSchema.optional(),
        })
        .strict()
        .optional(),
    })
    .strict()
    .refine(
      (d) => d.recordUpdate !== undefined || d.platformEvent !== undefined,
      'must declare recordUpdate, platformEvent or both',
    ),
);

export type Delivery = z.infer<typeof deliverySchema>;

/** Operation name -> delivery; "*" applies to every operation without its own entry. */
export const deliveryMapSchema = lazyObject(() =>
  z.record(z.string().regex(/^(\*|[A-Za-z][A-Za-z0-9_-]{0,63})$/, 'must be an operation name or "*"'), deliverySchema),
);

/** Fields shared by every connector row, spread into each type's object schema. */
export const baseConnectorFields = lazyObject(() => ({
  connectorId: connectorIdSchema,
  description: z.string().max(1024).optional(),
  enabled: z.boolean().default(true),
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  retry: retrySchema.default({ maxAttempts: 3, baseDelayMs: 500 }),
  /** Delivery of job outcomes into Salesforce, per operation (lambdas/delivery). */
  delivery: deliveryMapSchema.optional(),
  /**
   * Caps on calls to this service, held across all workers at once (domain/connector-limits.ts).
   * A job over a cap waits in the queue without using an attempt.
   */
  limits: z
    .object({
      /** Calls in flight at once. */
      maxConcurrency: z.number().int().min(1).max(1000).optional(),
      /** Calls started in any one-second window. */
      perSecond: z.number().positive().max(1000).optional(),
    })
    .strict()
    .optional(),
  /** Stops calling a failing service for a while (on by default; defaults applied in domain/connector-limits.ts). */
  circuitBreaker: z
    .object({
      enabled: z.boolean().optional(),
      /** Consecutive retryable failures that open the circuit. @default 5 */
      failureThreshold: z.number().int().min(1).max(1000).optional(),
      /** How long an open circuit waits before one probe call. @default 30 */
      cooldownSeconds: z.number().int().min(1).max(3600).optional(),
    })
    .strict()
    .optional(),
  /** Longest a job waits for a limit or an open circuit before it fails (RATE_LIMITED / CIRCUIT_OPEN). @default 3600 */
  maxWaitSeconds: z.number().int().min(1).max(43_200).optional(),
  /** Network rules of this connector's calls. */
  network: z
    .object({
      /**
       * Let this connector reach loopback and private addresses (10/8, 172.16/12, 192.168/16, 127/8, fc00::/7, ::1).
       * Works only where the deployment allows it (stack context allowPrivateTargets=true). @default false
       */
      allowPrivate: z.boolean().default(false),
    })
    .strict()
    .optional(),
}));

/**
 * The entry `name` of a row's map (operations, delivery), by own key only: a
 * caller-given `constructor` or `toString` must not find Object.prototype's members.
 */
export function ownEntry<T>(map: Readonly<Record<string, T>> | undefined, name: string): T | undefined {
  return map !== undefined && Object.hasOwn(map, name) ? map[name] : undefined;
}

/**
 * The one operation lookup of every wrapper: the operation the request names,
 * an own key of its connector's operations, or OPERATION_NOT_FOUND before anything is sent.
 */
export function operationOf<Op>(request: {
  connector: { connectorId: string; operations: Readonly<Record<string, Op>> };
  operationName: string;
}): Op {
  const { connector, operationName } = request;
  const op = ownEntry(connector.operations, operationName);
  if (op === undefined)
    throw new RequestPreparationError(
      'OPERATION_NOT_FOUND',
      `Connector "${connector.connectorId}" has no operation "${operationName}"`,
    );
  return op;
}

/** Delivery keys must name operations of the row (checked on the whole row, where operations are known). */
export function checkDeliveryKeys(
  row: { delivery?: Record<string, unknown>; operations: Record<string, unknown> },
  ctx: z.RefinementCtx,
): void {
  for (const key of Object.keys(row.delivery ?? {})) {
    if (key !== '*' && !Object.hasOwn(row.operations, key))
      ctx.addIssue({ code: 'custom', path: ['delivery', key], message: 'names no operation of this connector' });
  }
}

export const httpUrlSchema = lazyObject(() => z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }));
