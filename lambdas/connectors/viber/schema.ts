import * as z from 'zod';
import { baseConnectorFields, httpUrlSchema, operationNameSchema } from '../common';
import { secretRefSchema } from '../values';
import { lazyObject } from '../../shared/lazy';

export const viberOperationSchema = lazyObject(() =>
  z
    .object({
      /** REST Bot API send_message. */
      action: z.literal('sendMessage'),
      description: z.string().max(1024).optional(),
    })
    .strict(),
);

/** Viber's limits (https://developers.viber.com/docs/api/rest-bot-api/#send-message): sender.name at most 28 characters. */
export const VIBER_SENDER_NAME_MAX = 28;
/** A text message's `text`: at most 7,000 characters. */
export const VIBER_TEXT_MAX = 7000;

const characters = (s: string) => [...s].length;

export const viberSenderSchema = lazyObject(() =>
  z
    .object({
      name: z
        .string()
        .min(1)
        .refine(
          (n) => characters(n) <= VIBER_SENDER_NAME_MAX,
          `must be at most ${VIBER_SENDER_NAME_MAX} characters (Viber's limit)`,
        )
        // JSON Schema counts maxLength in characters too (zod's max() would count UTF-16 units).
        .meta({ maxLength: VIBER_SENDER_NAME_MAX }),
      avatar: httpUrlSchema.optional(),
    })
    .strict(),
);

export const viberConnectorSchema = lazyObject(() =>
  z
    .object({
      ...baseConnectorFields,
      type: z.literal('viber'),
      /** Viber REST Bot API base URL. @default https://chatapi.viber.com/pa */
      baseUrl: httpUrlSchema.default('https://chatapi.viber.com/pa'),
      /** Sent as X-Viber-Auth-Token. */
      authToken: secretRefSchema,
      /** Default sender; a payload `sender` (checked against the same limits) replaces its fields. */
      sender: viberSenderSchema,
      operations: z
        .record(operationNameSchema, viberOperationSchema)
        .refine((ops) => Object.keys(ops).length > 0, 'must declare at least one operation'),
    })
    .strict(),
);

export type ViberConnector = z.infer<typeof viberConnectorSchema>;
