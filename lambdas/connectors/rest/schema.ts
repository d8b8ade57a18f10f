import * as z from 'zod';
import { baseConnectorFields, httpUrlSchema, operationNameSchema, secretNameSchema } from '../common';
import { jmespathSchema } from '../mapping';
import { headersSchema, secretRefSchema, valueSourceSchema } from '../values';
import { lazyObject } from '../../shared/lazy';

/** Every scheme keeps its credentials in SSM: a row only names secrets. */
export const restAuthSchema = lazyObject(() =>
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('none') }).strict(),
    z.object({ type: z.literal('bearer'), secret: secretNameSchema }).strict(),
    z.object({ type: z.literal('basic'), username: valueSourceSchema, password: secretRefSchema }).strict(),
    z
      .object({
        type: z.literal('apiKey'),
        /** Where the key goes. */
        in: z.enum(['header', 'query']).default('header'),
        /** Header or query parameter name. */
        name: z.string().min(1).max(128),
        value: secretRefSchema,
      })
      .strict(),
    z
      .object({
        type: z.literal('oauth2ClientCredentials'),
        tokenUrl: httpUrlSchema,
        clientId: valueSourceSchema,
        clientSecret: secretRefSchema,
        scope: z.string().max(1024).optional(),
        audience: z.string().max(1024).optional(),
        /** client_secret_basic ("basic", the RFC default) or client_secret_post ("body"). */
        authMethod: z.enum(['basic', 'body']).default('basic'),
        /**
         * How client_secret_basic encodes id and secret before base64: "form" (RFC 6749 §2.3.1,
         * application/x-www-form-urlencoded) or "none" (the raw values, for servers that do not decode).
         * @default form
         */
        basicEncoding: z.enum(['form', 'none']).default('form'),
      })
      .strict(),
  ]),
);

export const restOperationSchema = lazyObject(() =>
  z
    .object({
      method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
      /** Appended to baseUrl; `{name}` is filled from the (mapped) request field `name`. */
      path: z.string().startsWith('/', 'must start with "/"').max(2048),
      description: z.string().max(1024).optional(),
      /** How a POST/PUT/PATCH body is encoded. @default json */
      contentType: z.enum(['json', 'form', 'xml']).default('json'),
      /** Root element name for XML bodies. @default "request" */
      xmlRoot: z
        .string()
        .regex(/^[A-Za-z_][\w.-]*$/)
        .optional(),
      headers: headersSchema.optional(),
      /** JMESPath over {payload, recordId}: builds the body (or query for GET/DELETE). Default: the payload as is. */
      request: jmespathSchema.optional(),
      /** JMESPath over the parsed response body: becomes `data`. Default: the whole body. */
      response: jmespathSchema.optional(),
      /**
       * Follow 3xx redirects (at most 5; never https to http; credentials and secret headers are not sent to another origin).
       * Not followed, a 3xx fails the job as UPSTREAM_HTTP_ERROR. @default true for GET, false for other methods
       */
      followRedirects: z.boolean().optional(),
      /**
       * Header that carries the job id on every call, so the service can drop a
       * repeat that at-least-once delivery may still cause (the same job always
       * sends the same value, retries included). `false` sends none.
       * @default "Idempotency-Key"
       */
      idempotencyKeyHeader: z
        .union([
          z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'must be an HTTP header name'),
          z.literal(false),
        ])
        .default('Idempotency-Key'),
    })
    .strict(),
);

export const restConnectorSchema = lazyObject(() =>
  z
    .object({
      ...baseConnectorFields,
      type: z.literal('rest'),
      baseUrl: httpUrlSchema,
      auth: restAuthSchema.default({ type: 'none' }),
      /** Sent with every operation; a value may be `{"secret": "name"}`. */
      headers: headersSchema.optional(),
      operations: z
        .record(operationNameSchema, restOperationSchema)
        .refine((ops) => Object.keys(ops).length > 0, 'must declare at least one operation'),
    })
    .strict(),
);

export type RestConnector = z.infer<typeof restConnectorSchema>;
export type RestOperation = z.infer<typeof restOperationSchema>;
export type RestAuth = z.infer<typeof restAuthSchema>;
