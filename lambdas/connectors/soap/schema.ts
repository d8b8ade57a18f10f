import * as z from 'zod';
import { baseConnectorFields, httpUrlSchema, operationNameSchema } from '../common';
import { secretRefSchema, valueSourceSchema } from '../values';
import { lazyObject } from '../../shared/lazy';

export const soapAuthSchema = lazyObject(() =>
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('none') }).strict(),
    z.object({ type: z.literal('basic'), username: valueSourceSchema, password: secretRefSchema }).strict(),
    z
      .object({
        type: z.literal('wsSecurity'),
        username: valueSourceSchema,
        password: secretRefSchema,
        /** UsernameToken password type. @default PasswordText */
        passwordType: z.enum(['PasswordText', 'PasswordDigest']).default('PasswordText'),
      })
      .strict(),
  ]),
);

export const soapOperationSchema = lazyObject(() =>
  z
    .object({
      /** Operation name in the WSDL. */
      operation: z.string().min(1).max(256),
      /** Service and port, when the WSDL has several. */
      service: z.string().min(1).max(256).optional(),
      port: z.string().min(1).max(256).optional(),
      description: z.string().max(1024).optional(),
      /**
       * Retry Server (1.1) / Receiver (1.2) faults of this operation. Default: no
       * when the fault shows an application exception (ASMX "Server was unable to
       * process request. --->", a WCF ExceptionDetail), yes otherwise. Client/Sender
       * faults are never retried.
       */
      retryOnServerFault: z.boolean().optional(),
    })
    .strict()
    .refine((op) => (op.service === undefined) === (op.port === undefined), {
      message: 'service and port go together',
      path: ['port'],
    }),
);

export const soapConnectorSchema = lazyObject(() =>
  z
    .object({
      ...baseConnectorFields,
      type: z.literal('soap'),
      /** Fetched once per warm Lambda and cached. */
      wsdlUrl: httpUrlSchema,
      /** Replaces the endpoint address written in the WSDL. */
      endpoint: httpUrlSchema.optional(),
      /** @default "1.1" */
      soapVersion: z.enum(['1.1', '1.2']).default('1.1'),
      auth: soapAuthSchema.default({ type: 'none' }),
      operations: z
        .record(operationNameSchema, soapOperationSchema)
        .refine((ops) => Object.keys(ops).length > 0, 'must declare at least one operation'),
    })
    .strict(),
);

export type SoapConnector = z.infer<typeof soapConnectorSchema>;
