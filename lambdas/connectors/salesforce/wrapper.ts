import type { Connection } from 'jsforce/core';
import * as z from 'zod';
import { formatIssues } from '../schema';
import { operationOf } from '../common';
import { mapRequest, mapResponse } from '../mapping';
import { traceHeader, type CallRequest, type ResultEnvelope, type Wrapper, type WrapperDeps } from '../types';
import { checkComposite, withSalesforce } from './client';
import { RECORD_ID } from '../../shared/ids';
import type { SalesforceConnector, SalesforceOperation } from './schema';
import { bindSoql } from './soql';
import { RequestPreparationError } from '../../shared/errors';
import { lazyObject } from '../../shared/lazy';

const compositeInputSchema = lazyObject(() =>
  z
    .object({
      compositeRequest: z
        .array(
          z
            .object({
              method: z.enum(['GET', 'POST', 'PATCH', 'PUT', 'DELETE']),
              /** "/sobjects/Account" (under the connector's API version) or a full "/services/data/vXX.X/..." path. */
              url: z.string().startsWith('/').max(4096),
              referenceId: z
                .string()
                .regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, 'must be letters, digits and "_", starting with a letter'),
              body: z.unknown().optional(),
              httpHeaders: z.record(z.string(), z.string()).optional(),
            })
            .strict(),
        )
        .min(1)
        .max(25, 'Salesforce allows at most 25 subrequests'),
    })
    .strict(),
);

/** An action with its input checked, ready to run: everything that can be refused is refused before any login. */
type Prepared =
  | { action: 'create' | 'publishEvent'; sobject: string; fields: Record<string, unknown> }
  | { action: 'update'; sobject: string; id: string; fields: Record<string, unknown> }
  | { action: 'upsert'; sobject: string; externalIdField: string; externalId: string; fields: Record<string, unknown> }
  | { action: 'query'; soql: string; maxRecords: number }
  | { action: 'composite'; body: { allOrNone: boolean; compositeRequest: Array<Record<string, unknown>> } };

function fieldsOf(input: unknown, what: string): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new RequestPreparationError('INVALID_PAYLOAD', `The input must be an object of ${what} fields`);
  }
  return input as Record<string, unknown>;
}

export function prepareAction(
  op: SalesforceOperation,
  input: unknown,
  recordId: string | undefined,
  apiVersion: string,
): Prepared {
  switch (op.action) {
    case 'create':
    case 'publishEvent':
      return { action: op.action, sobject: op.sobject, fields: fieldsOf(input, op.sobject) };
    case 'update': {
      const { Id, ...fields } = fieldsOf(input, op.sobject);
      const id = Id ?? recordId;
      if (typeof id !== 'string' || !RECORD_ID.test(id)) {
        throw new RequestPreparationError(
          'INVALID_PAYLOAD',
          `An update needs a 15- or 18-character record id, as "Id" in the input or as the callout's recordId; got ${id === undefined ? 'none' : JSON.stringify(id)}`,
        );
      }
      return { action: 'update', sobject: op.sobject, id, fields };
    }
    case 'upsert': {
      const { [op.externalIdField]: externalId, ...fields } = fieldsOf(input, op.sobject);
      if ((typeof externalId !== 'string' && typeof externalId !== 'number') || externalId === '') {
        throw new RequestPreparationError(
          'INVALID_PAYLOAD',
          `An upsert needs the external id "${op.externalIdField}" in the input, as a string or number`,
        );
      }
      // The external id goes into the URL; Salesforce refuses a body that names Id or the external id field again
      // (field names are case-insensitive). Refused rather than dropped: an Id may mean the caller wanted another record.
      const clash = Object.keys(fields).filter(
        (k) => k.toLowerCase() === 'id' || k.toLowerCase() === op.externalIdField.toLowerCase(),
      );
      if (clash.length > 0) {
        throw new RequestPreparationError(
          'INVALID_PAYLOAD',
          `An upsert finds its record by "${op.externalIdField}" alone: remove ${clash.map((k) => `"${k}"`).join(' and ')} from the input (Salesforce refuses Id or the external id field in the body)`,
        );
      }
      return {
        action: 'upsert',
        sobject: op.sobject,
        externalIdField: op.externalIdField,
        externalId: String(externalId),
        fields,
      };
    }
    case 'query':
      return { action: 'query', soql: bindSoql(op.soql, input), maxRecords: op.maxRecords };
    case 'composite': {
      const parsed = compositeInputSchema.safeParse(input);
      if (!parsed.success)
        throw new RequestPreparationError(
          'INVALID_PAYLOAD',
          `Invalid composite input: ${formatIssues(parsed.error).join('; ')}`,
        );
      const compositeRequest = parsed.data.compositeRequest.map((sub) => ({
        ...sub,
        url: sub.url.startsWith('/services/') ? sub.url : `/services/data/v${apiVersion}${sub.url}`,
      }));
      return { action: 'composite', body: { allOrNone: op.allOrNone, compositeRequest } };
    }
  }
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * The record calls go to the REST API directly, not through jsforce's
 * sobject().create/update/upsert: those drop any field named "type" or
 * "attributes" from the record (Account.Type sent as "type" would vanish
 * without an error). The answers are the same SaveResults jsforce returns.
 */
async function run(conn: Connection, p: Prepared): Promise<unknown> {
  switch (p.action) {
    case 'create':
    case 'publishEvent':
      return conn.request({
        method: 'POST',
        url: `/sobjects/${p.sobject}`,
        body: JSON.stringify(p.fields),
        headers: JSON_HEADERS,
      });
    case 'update':
      return conn.request(
        {
          method: 'PATCH',
          url: `/sobjects/${p.sobject}/${p.id}`,
          body: JSON.stringify(p.fields),
          headers: JSON_HEADERS,
        },
        { noContentResponse: { id: p.id, success: true, errors: [] } },
      );
    case 'upsert':
      return conn.request(
        {
          method: 'PATCH',
          url: `/sobjects/${p.sobject}/${p.externalIdField}/${encodeURIComponent(p.externalId)}`,
          body: JSON.stringify(p.fields),
          headers: JSON_HEADERS,
        },
        { noContentResponse: { success: true, errors: [] } },
      );
    case 'query':
      return conn.query(p.soql, { autoFetch: true, maxFetch: p.maxRecords });
    case 'composite':
      return conn.requestPost('/composite', p.body);
  }
}

export const salesforceWrapper: Wrapper<SalesforceConnector> = {
  async call(request: CallRequest<SalesforceConnector>, deps: WrapperDeps): Promise<ResultEnvelope> {
    const { connector } = request;
    const op = operationOf(request);
    const input = op.request
      ? mapRequest(op.request, { payload: request.payload, recordId: request.recordId })
      : request.payload;
    const prepared = prepareAction(op, input, request.recordId, connector.apiVersion);
    const { value, statusCode } = await withSalesforce(
      connector,
      deps,
      (conn) => run(conn, prepared),
      undefined,
      traceHeader(request),
    );
    if (prepared.action === 'composite' && prepared.body.allOrNone) checkComposite(value);
    return { statusCode, data: op.response ? mapResponse(op.response, value) : value };
  },
};
