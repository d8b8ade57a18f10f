import { z } from 'zod';
import { baseConnectorFields, httpUrlSchema, operationNameSchema, secretNameSchema } from '../common';

export const restAuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z.object({ type: z.literal('bearer'), secret: secretNameSchema }).strict(),
]);

export const restOperationSchema = z
  .object({
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    /** Appended to baseUrl; `{name}` is filled from the payload field `name`. */
    path: z.string().startsWith('/', 'must start with "/"').max(2048),
    description: z.string().max(1024).optional(),
  })
  .strict();

export const restConnectorSchema = z
  .object({
    ...baseConnectorFields,
    type: z.literal('rest'),
    baseUrl: httpUrlSchema,
    auth: restAuthSchema.default({ type: 'none' }),
    operations: z.record(operationNameSchema, restOperationSchema).refine((ops) => Object.keys(ops).length > 0, 'must declare at least one operation'),
  })
  .strict();

export type RestConnector = z.infer<typeof restConnectorSchema>;
export type RestOperation = z.infer<typeof restOperationSchema>;
