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
export function formatIssues(error: z.ZodError, input?: unknown): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    // A schema's own message (e.g. "must be an http(s) URL") reads wrong for a field that is simply missing.
    const missing = input !== undefined && issue.code !== 'custom' && issue.path.length > 0 && valueAt(input, issue.path) === undefined;
    return `$${path}: ${missing ? 'is required' : issue.message}`;
  });
}

/** The value at a zod issue path, or undefined when any step is missing. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

export type ParseResult = { ok: true; connector: Connector } | { ok: false; errors: string[] };

export function parseConnector(input: unknown): ParseResult {
  const result = connectorSchema.safeParse(input);
  return result.success ? { ok: true, connector: result.data } : { ok: false, errors: formatIssues(result.error, input) };
}
