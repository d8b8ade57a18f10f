import * as z from 'zod';
import { baseConnectorFields, httpUrlSchema, operationNameSchema } from '../common';
import { secretRefSchema } from '../values';
import { lazyObject } from '../../shared/lazy';

export const slackOperationSchema = lazyObject(() =>
  z
    .object({
      /** `postMessage`: Web API chat.postMessage with the bot token. `webhook`: post to the incoming webhook. */
      action: z.enum(['postMessage', 'webhook']),
      /** Default channel for postMessage; the payload's `channel` wins. */
      channel: z.string().min(1).max(256).optional(),
      description: z.string().max(1024).optional(),
    })
    .strict(),
);

export const slackConnectorSchema = lazyObject(() =>
  z
    .object({
      ...baseConnectorFields,
      type: z.literal('slack'),
      /** Slack Web API base URL. @default https://slack.com/api */
      baseUrl: httpUrlSchema.default('https://slack.com/api'),
      /** Bot token (xoxb-...), for postMessage. */
      botToken: secretRefSchema.optional(),
      /** Secret holding the incoming-webhook URL (the URL itself is the credential). */
      webhookUrl: secretRefSchema.optional(),
      operations: z
        .record(operationNameSchema, slackOperationSchema)
        .refine((ops) => Object.keys(ops).length > 0, 'must declare at least one operation'),
    })
    .strict()
    .superRefine((c, ctx) => {
      const actions = new Set(Object.values(c.operations).map((o) => o.action));
      if (actions.has('postMessage') && !c.botToken)
        ctx.addIssue({ code: 'custom', path: ['botToken'], message: 'is required by postMessage operations' });
      if (actions.has('webhook') && !c.webhookUrl)
        ctx.addIssue({ code: 'custom', path: ['webhookUrl'], message: 'is required by webhook operations' });
    }),
);

export type SlackConnector = z.infer<typeof slackConnectorSchema>;
