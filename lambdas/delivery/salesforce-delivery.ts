import { search } from '@aws-lambda-powertools/jmespath';
import type { Delivery } from '../connectors/common';
import { redacting } from '../connectors/invoke';
import { checkComposite, withSalesforce } from '../connectors/salesforce/client';
import type { SalesforceConnector } from '../connectors/salesforce/schema';
import { sessionCache, type SessionCache } from '../connectors/salesforce/session';
import type { WrapperDeps } from '../connectors/types';
import type { ConnectorSource } from '../domain/connector-source';
import type { Job } from '../domain/job';
import { RECORD_ID } from '../shared/ids';
import type { OutcomeDelivery, PreparedDelivery } from '../domain/outcome-delivery';
import { RequestPreparationError } from '../shared/errors';

/**
 * The standard fields of the result Platform Event. The Salesforce kit
 * (salesforce/) defines Callout_Result__e with exactly these names.
 */
export const EVENT_FIELDS = {
  jobId: 'Job_Id__c',
  connectorId: 'Connector_Id__c',
  operation: 'Operation__c',
  status: 'Status__c',
  recordId: 'Record_Id__c',
  result: 'Result__c',
  error: 'Error__c',
} as const;

/** A Platform Event Long Text Area holds at most 131,072 characters. */
export const MAX_EVENT_TEXT = 131_072;

/** What field mappings see: `{result, error, job}` (the job as GET /v1/jobs shows it, minus result and error). */
export function mappingContext(job: Job) {
  return {
    result: job.result ?? null,
    error: job.error ?? null,
    job: {
      jobId: job.jobId,
      connectorId: job.connectorId,
      operation: job.operation,
      status: job.status,
      attempts: job.attempts,
      recordId: job.recordId ?? null,
      correlationId: job.correlationId ?? null,
      createdAt: job.createdAt,
      updatedAt: job.updatedAt,
    },
  };
}

/** Salesforce fields hold scalars: objects and arrays are written as JSON text, nothing as null (which clears the field). */
function fieldValue(value: unknown): string | number | boolean | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

/** Evaluates field name -> JMESPath mappings over the mapping context. */
export function mapFields(
  fields: Record<string, string>,
  context: unknown,
): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [name, expression] of Object.entries(fields)) {
    try {
      out[name] = fieldValue(search(expression, context as never));
    } catch (err) {
      throw new RequestPreparationError(
        'DELIVERY_MAPPING_FAILED',
        `Delivery mapping of ${name} ("${expression}") failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return out;
}

/** JSON text for an event field; an oversized result is replaced by a pointer to the job, as cut JSON would be useless. */
function eventJson(value: unknown, jobId: string): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  if (text.length <= MAX_EVENT_TEXT) return text;
  const statusCode = (value as { statusCode?: unknown }).statusCode;
  return JSON.stringify({
    ...(statusCode !== undefined && { statusCode }),
    truncated: true,
    size: text.length,
    readAt: `/v1/jobs/${jobId}`,
  });
}

/** The Platform Event's body: the standard fields, then any mapped extra fields. */
export function eventBody(job: Job, extraFields: Record<string, string> | undefined): Record<string, unknown> {
  return {
    [EVENT_FIELDS.jobId]: job.jobId,
    [EVENT_FIELDS.connectorId]: job.connectorId,
    [EVENT_FIELDS.operation]: job.operation,
    [EVENT_FIELDS.status]: job.status,
    [EVENT_FIELDS.recordId]: job.recordId ?? null,
    [EVENT_FIELDS.result]: eventJson(job.result, job.jobId),
    [EVENT_FIELDS.error]: eventJson(job.error, job.jobId),
    ...(extraFields && mapFields(extraFields, mappingContext(job))),
  };
}

/** The Composite subrequests of one delivery: the record update first, then the event. */
export function deliveryRequests(job: Job, delivery: Delivery, apiVersion: string): Array<Record<string, unknown>> {
  const base = `/services/data/v${apiVersion}/sobjects`;
  const requests: Array<Record<string, unknown>> = [];
  if (delivery.recordUpdate) {
    if (job.recordId === undefined) {
      throw new RequestPreparationError(
        'DELIVERY_NO_RECORD_ID',
        'The delivery updates the calling record, but the callout was submitted without a recordId',
      );
    }
    if (!RECORD_ID.test(job.recordId))
      throw new RequestPreparationError(
        'DELIVERY_NO_RECORD_ID',
        `The callout's recordId ${JSON.stringify(job.recordId)} is not a Salesforce record id`,
      );
    const body = mapFields(delivery.recordUpdate.fields, mappingContext(job));
    requests.push({
      method: 'PATCH',
      url: `${base}/${delivery.recordUpdate.sobject}/${job.recordId}`,
      referenceId: 'record',
      body,
    });
  }
  if (delivery.platformEvent) {
    requests.push({
      method: 'POST',
      url: `${base}/${delivery.platformEvent.sobject}`,
      referenceId: 'event',
      body: eventBody(job, delivery.platformEvent.fields),
    });
  }
  return requests;
}

/** The enabled salesforce connector a delivery or a file link writes through; DELIVERY_TARGET_INVALID naming what is wrong. */
export async function salesforceTarget(
  connectors: ConnectorSource,
  connectorId: string,
  role: 'delivery' | 'file link',
): Promise<SalesforceConnector> {
  const target = await connectors.get(connectorId);
  const problem = !target
    ? 'does not exist'
    : target.type !== 'salesforce'
      ? `is a ${target.type} connector, not salesforce`
      : !target.enabled
        ? 'is disabled'
        : undefined;
  if (problem)
    throw new RequestPreparationError('DELIVERY_TARGET_INVALID', `The ${role} connector "${connectorId}" ${problem}`);
  return target as SalesforceConnector;
}

/**
 * Delivers a job's outcome with the target Salesforce connector's session:
 * record update and Platform Event go in one Composite request with allOrNone,
 * so a failed update publishes no event, a retry repeats an idempotent update,
 * and a delivery costs one API call.
 */
export class SalesforceDelivery implements OutcomeDelivery {
  constructor(
    private readonly connectors: ConnectorSource,
    private readonly deps: WrapperDeps,
    private readonly sessions: SessionCache = sessionCache,
  ) {}

  async prepare(delivery: Delivery): Promise<PreparedDelivery> {
    const connector = await salesforceTarget(this.connectors, delivery.connectorId, 'delivery');
    return {
      retry: connector.retry,
      timeoutMs: connector.timeoutMs,
      send: async (job) => {
        const compositeRequest = deliveryRequests(job, delivery, connector.apiVersion);
        // Redacted as wrapper calls are: the org's error text may quote the session token.
        await redacting(this.deps, connector, async (deps) => {
          const { value } = await withSalesforce(
            connector,
            deps,
            (conn) => conn.requestPost('/composite', { allOrNone: true, compositeRequest }),
            this.sessions,
          );
          checkComposite(value);
        });
      },
    };
  }
}
