import { z } from 'zod';
import { baseConnectorFields, httpUrlSchema, operationNameSchema } from '../common';
import { secretRefSchema } from '../values';

export const viberOperationSchema = z
  .object({
    /** REST Bot API send_message. */
    action: z.literal('sendMessage'),
    description: z.string().max(1024).optional(),
  })
  .strict();

export const viberConnectorSchema = z
  .object({
    ...baseConnectorFields,
    type: z.literal('viber'),
    /** Viber REST Bot API base URL. @default https://chatapi.viber.com/pa */
    baseUrl: httpUrlSchema.default('https://chatapi.viber.com/pa'),
    /** Sent as X-Viber-Auth-Token. */
    authToken: secretRefSchema,
    /** Default sender; the payload's `sender` wins. */
    sender: z.object({ name: z.string().min(1).max(28), avatar: httpUrlSchema.optional() }).strict(),
    operations: z.record(operationNameSchema, viberOperationSchema).refine((ops) => Object.keys(ops).length > 0, 'must declare at least one operation'),
  })
  .strict();

export type ViberConnector = z.infer<typeof viberConnectorSchema>;
