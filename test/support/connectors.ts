import { parseConnector } from '../../lambdas/connectors/schema';

/** Connector rows tests share, and what the row check says of one. */

/** A salesforce connector row that parses: a placeholder org no test calls. */
export const salesforceRow = (extra: Record<string, unknown> = {}) => ({
  connectorId: 'sf',
  type: 'salesforce',
  loginUrl: 'https://acme.my.salesforce.com',
  auth: { type: 'clientCredentials', clientId: 'cid', clientSecret: { secret: 'client-secret' } },
  ...extra,
});

/** A file link target: connector "sf" at this org (default fileLink, client credentials "hub" / secret "cs"). */
export const fileLinkRow = (loginUrl: string, extra: Record<string, unknown> = {}) => ({
  connectorId: 'sf',
  type: 'salesforce',
  loginUrl,
  apiVersion: '62.0',
  auth: { type: 'clientCredentials', clientId: 'hub', clientSecret: { secret: 'cs' } },
  timeoutMs: 2000,
  enabled: true,
  operations: {},
  fileLink: {},
  ...extra,
});

/** A file link target at a port nothing listens on: for files whose link must never be reached. */
export const unreachableFileLinkRow = () => fileLinkRow('http://127.0.0.1:9');

/** The row check's messages for a row ([] when it parses). */
export function errorsOf(row: unknown): string[] {
  const r = parseConnector(row);
  return r.ok ? [] : r.errors;
}
