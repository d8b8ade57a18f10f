import * as z from 'zod';
import { checkDeliveryKeys } from './common';
import { targetProblem } from './targets';
import { restConnectorSchema } from './rest/schema';
import { salesforceConnectorSchema } from './salesforce/schema';
import { slackConnectorSchema } from './slack/schema';
import { soapConnectorSchema } from './soap/schema';
import { viberConnectorSchema } from './viber/schema';
import { lazyObject } from '../shared/lazy';

/**
 * The one schema for connector rows: used by the CLI when an admin writes a row
 * and by the Lambdas when they read it. Adding a connector type means adding
 * its folder and its schema to this union.
 */
export const connectorSchema = lazyObject(() =>
  z
    .discriminatedUnion('type', [
      restConnectorSchema,
      soapConnectorSchema,
      slackConnectorSchema,
      viberConnectorSchema,
      salesforceConnectorSchema,
    ])
    .superRefine(checkDeliveryKeys),
);

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
    const missing =
      input !== undefined &&
      issue.code !== 'custom' &&
      issue.path.length > 0 &&
      valueAt(input, issue.path) === undefined;
    return `$${path}: ${missing ? 'is required' : issue.message}`;
  });
}

/** The value at a zod issue path, or undefined when any step is missing. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, key))
      return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

export type ParseResult = { ok: true; connector: Connector } | { ok: false; errors: string[] };

/** The URLs a connector row names that the worker calls (webhook URLs are secrets: checked when called). */
export function connectorTargetUrls(c: Connector): Array<{ path: Array<string | number>; url: string }> {
  const urls: Array<{ path: Array<string | number>; url: string | undefined }> = [];
  switch (c.type) {
    case 'rest':
      urls.push(
        { path: ['baseUrl'], url: c.baseUrl },
        { path: ['auth', 'tokenUrl'], url: c.auth.type === 'oauth2ClientCredentials' ? c.auth.tokenUrl : undefined },
      );
      break;
    case 'soap':
      urls.push({ path: ['wsdlUrl'], url: c.wsdlUrl }, { path: ['endpoint'], url: c.endpoint });
      break;
    case 'slack':
    case 'viber':
      urls.push({ path: ['baseUrl'], url: c.baseUrl });
      break;
    case 'salesforce':
      urls.push({ path: ['loginUrl'], url: c.loginUrl });
      break;
  }
  return urls.filter((u): u is { path: Array<string | number>; url: string } => u.url !== undefined);
}

export interface ParseOptions {
  /**
   * "check" (default, for what an admin writes): refuse targets no deployment
   * may call (link-local, metadata, non-canonical IPv4, user:password), and
   * loopback/private ones unless `allowPrivate` or the row's network.allowPrivate.
   * "skip": the worker reads rows as stored and refuses targets when it calls (TARGET_NOT_ALLOWED).
   */
  targets?: 'check' | 'skip';
  allowPrivate?: boolean;
}

export function parseConnector(input: unknown, options: ParseOptions = {}): ParseResult {
  const result = connectorSchema.safeParse(input);
  if (!result.success) return { ok: false, errors: formatIssues(result.error, input) };
  const connector = result.data;
  if (options.targets !== 'skip') {
    const allowPrivate = options.allowPrivate === true || connector.network?.allowPrivate === true;
    const errors = connectorTargetUrls(connector).flatMap(({ path, url }) => {
      const problem = targetProblem(url);
      if (!problem || (problem.cls === 'private' && allowPrivate)) return [];
      const hint =
        problem.cls === 'private'
          ? ' (allowed only with "network": {"allowPrivate": true}, where the deployment allows private targets)'
          : '';
      return formatIssues(new z.ZodError([{ code: 'custom', path, message: `${problem.reason}${hint}`, input: url }]));
    });
    if (errors.length > 0) return { ok: false, errors };
  }
  return { ok: true, connector };
}
