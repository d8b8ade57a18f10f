import { z } from 'zod';
import { checkDeliveryKeys } from './common';
import { restConnectorSchema } from './rest/schema';
import { salesforceConnectorSchema } from './salesforce/schema';
import { slackConnectorSchema } from './slack/schema';
import { soapConnectorSchema } from './soap/schema';
import { viberConnectorSchema } from './viber/schema';

/**
 * The one schema for connector rows: used by the CLI when an admin writes a row
 * and by the Lambdas when they read it. Adding a connector type means adding
 * its folder and its schema to this union.
 */
export const connectorSchema = z.discriminatedUnion('type', [restConnectorSchema, soapConnectorSchema, slackConnectorSchema, viberConnectorSchema, salesforceConnectorSchema])
  .superRefine(checkDeliveryKeys);

export type Connector = z.infer<typeof connectorSchema>;
/** What an admin writes: defaults not yet applied. */
export type ConnectorInput = z.input<typeof connectorSchema>;
export type ConnectorType = Connector['type'];
export type ConnectorOf<T extends ConnectorType> = Extract<Connector, { type: T }>;

/** Formats zod issues as "path: message" lines, the path in JSON-path form ($.operations.getOrder.method). */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    return `$${path}: ${issue.message}`;
  });
}

export type ParseResult = { ok: true; connector: Connector } | { ok: false; errors: string[] };

export function parseConnector(input: unknown): ParseResult {
  const result = connectorSchema.safeParse(input);
  return result.success ? { ok: true, connector: result.data } : { ok: false, errors: formatIssues(result.error) };
}
