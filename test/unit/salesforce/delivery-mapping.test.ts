import { deliverySchema } from '../../../lambdas/connectors/common';
import {
  deliveryRequests,
  eventBody,
  mapFields,
  mappingContext,
  MAX_EVENT_TEXT,
} from '../../../lambdas/delivery/salesforce-delivery';
import type { Job } from '../../../lambdas/domain/job';
import { RequestPreparationError } from '../../../lambdas/shared/errors';

const job = (extra: Partial<Job> = {}): Job => ({
  jobId: 'job-1',
  connectorId: 'erp',
  operation: 'getOrder',
  status: 'SUCCEEDED',
  attempts: 2,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:01.000Z',
  payload: { secretish: 'payload stays in the hub' },
  recordId: '006000000000000001',
  result: { statusCode: 200, data: { status: 'SHIPPED', total: 99.5, lines: [{ sku: 'A' }], paid: true } },
  ...extra,
});

test('field mappings see {result, error, job}; scalars stay, objects become JSON text, missing values null', () => {
  const fields = mapFields(
    {
      Status__c: 'result.data.status',
      Total__c: 'result.data.total',
      Paid__c: 'result.data.paid',
      Lines__c: 'result.data.lines',
      Error__c: 'error.message',
      Job__c: 'job.jobId',
      Attempts__c: 'job.attempts',
    },
    mappingContext(job()),
  );
  expect(fields).toEqual({
    Status__c: 'SHIPPED',
    Total__c: 99.5,
    Paid__c: true,
    Lines__c: '[{"sku":"A"}]',
    Error__c: null,
    Job__c: 'job-1',
    Attempts__c: 2,
  });
  expect(JSON.stringify(mappingContext(job()))).not.toContain('payload stays in the hub');
});

test('a mapping that fails at run time is a preparation error naming the field', () => {
  expect(() => mapFields({ Bad__c: 'length(job.attempts)' }, mappingContext(job()))).toThrow(RequestPreparationError);
  expect(() => mapFields({ Bad__c: 'length(job.attempts)' }, mappingContext(job()))).toThrow(/Bad__c/);
});

test('the Platform Event carries the standard fields, result and error as JSON, and extra mapped fields', () => {
  expect(eventBody(job(), { Order_Status__c: 'result.data.status' })).toEqual({
    Job_Id__c: 'job-1',
    Connector_Id__c: 'erp',
    Operation__c: 'getOrder',
    Status__c: 'SUCCEEDED',
    Record_Id__c: '006000000000000001',
    Result__c: JSON.stringify(job().result),
    Error__c: null,
    Order_Status__c: 'SHIPPED',
  });
  const failed = eventBody(
    job({
      status: 'FAILED',
      result: undefined,
      error: { code: 'UPSTREAM_HTTP_ERROR', message: 'HTTP 500', retryable: true, statusCode: 500 },
      recordId: undefined,
    }),
    undefined,
  );
  expect(failed).toMatchObject({ Status__c: 'FAILED', Record_Id__c: null, Result__c: null });
  expect(JSON.parse(failed.Error__c as string)).toEqual({
    code: 'UPSTREAM_HTTP_ERROR',
    message: 'HTTP 500',
    retryable: true,
    statusCode: 500,
  });
});

test('a result too long for a Long Text Area is replaced by a pointer to the job, still valid JSON', () => {
  const big = job({ result: { statusCode: 200, data: 'x'.repeat(MAX_EVENT_TEXT) } });
  const text = eventBody(big, undefined).Result__c as string;
  expect(text.length).toBeLessThanOrEqual(MAX_EVENT_TEXT);
  expect(JSON.parse(text)).toEqual({
    statusCode: 200,
    truncated: true,
    size: JSON.stringify(big.result).length,
    readAt: '/v1/jobs/job-1',
  });
});

test('Composite subrequests: the record update first, then the event, on the target API version', () => {
  const delivery = deliverySchema.parse({
    connectorId: 'sf',
    recordUpdate: { sobject: 'Opportunity', fields: { S__c: 'job.status' } },
    platformEvent: {},
  });
  const requests = deliveryRequests(job(), delivery, '61.0');
  expect(requests).toEqual([
    {
      method: 'PATCH',
      url: '/services/data/v61.0/sobjects/Opportunity/006000000000000001',
      referenceId: 'record',
      body: { S__c: 'SUCCEEDED' },
    },
    {
      method: 'POST',
      url: '/services/data/v61.0/sobjects/Callout_Result__e',
      referenceId: 'event',
      body: expect.objectContaining({ Job_Id__c: 'job-1' }),
    },
  ]);
});

test('a record update needs the callout to carry a real record id', () => {
  const delivery = deliverySchema.parse({
    connectorId: 'sf',
    recordUpdate: { sobject: 'Opportunity', fields: { S__c: 'job.status' } },
  });
  expect(() => deliveryRequests(job({ recordId: undefined }), delivery, '62.0')).toThrow(/without a recordId/);
  expect(() => deliveryRequests(job({ recordId: '../../sobjects/User/005' }), delivery, '62.0')).toThrow(
    /not a Salesforce record id/,
  );
  // An event alone needs no record.
  expect(
    deliveryRequests(
      job({ recordId: undefined }),
      deliverySchema.parse({ connectorId: 'sf', platformEvent: {} }),
      '62.0',
    ),
  ).toHaveLength(1);
});
