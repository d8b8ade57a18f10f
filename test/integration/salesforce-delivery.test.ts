import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { sessionCache } from '../../lambdas/connectors/salesforce/session';
import type { ResultEnvelope, WrapperDeps, WrapperMap } from '../../lambdas/connectors/types';
import { SalesforceDelivery } from '../../lambdas/delivery/salesforce-delivery';
import { ConnectorStore } from '../../lambdas/adapters/connector-store';
import { jobView } from '../../lambdas/domain/job';
import { JobStore } from '../../lambdas/adapters/job-store';
import { DEFAULT_MAX_RECEIVE_COUNT, MAX_CONNECTOR_ATTEMPTS, WORST_CASE_RECEIVES } from '../../lambdas/contract/queue';
import { startDynamo } from '../support/dynamo';
import { sqsRecord } from '../support/events';
import { jobWorker, mockLogger, scripted, testQueue } from '../support/worker';
import { startFakeSalesforce, type FakeSalesforce } from '../../local/fake-salesforce';
import { RetryLaterError, UpstreamHttpError } from '../../lambdas/shared/errors';
import { queuedJob } from '../support/jobs';

/**
 * Delivery of job outcomes into Salesforce, in the worker's job runner: real
 * stores on dynalite, the real Salesforce delivery (jsforce) against the local
 * stand-in, a mocked SQS client, and a scripted wrapper as the external service.
 */
let dynamo: Awaited<ReturnType<typeof startDynamo>>;
let sf: FakeSalesforce;
const sqsMock = mockClient(SQSClient);
const logger = mockLogger();
const deps: WrapperDeps = { secrets: { get: async () => 'sf-client-secret' }, fetch: globalThis.fetch };
let seq = 0;

beforeAll(async () => {
  dynamo = await startDynamo();
  sf = await startFakeSalesforce({ clients: [{ clientId: 'hub', clientSecret: 'sf-client-secret' }] });
});
afterAll(async () => {
  sqsMock.restore();
  await sf.close();
  await dynamo.stop();
});
beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  sf.reset();
  sessionCache.clear();
});

const put = (item: Record<string, unknown>) =>
  dynamo.db.send(new PutCommand({ TableName: dynamo.tables.connectors, Item: item }));

const standardDelivery = {
  connectorId: 'sf-target',
  recordUpdate: {
    sobject: 'Opportunity',
    fields: {
      ERP_Status__c: 'result.data.status',
      ERP_Total__c: 'result.data.total',
      ERP_Error__c: 'error.message',
      ERP_Job__c: 'job.jobId',
    },
  },
  platformEvent: { sobject: 'Callout_Result__e' },
};

interface Setup {
  delivery?: unknown;
  steps: Array<Error | ResultEnvelope>;
  recordId?: string | null;
  inlineRetryMaxMs?: number;
  target?: Record<string, unknown> | null;
  /** The calling connector's retry settings. */
  retry?: { maxAttempts: number; baseDelayMs: number };
}

async function setup(opts: Setup) {
  const id = `erp-${++seq}`;
  if (opts.target !== null) {
    await put({
      connectorId: 'sf-target',
      type: 'salesforce',
      loginUrl: sf.loginUrl,
      auth: { type: 'clientCredentials', clientId: 'hub', clientSecret: { secret: 'cs' } },
      retry: { maxAttempts: 3, baseDelayMs: 100 },
      ...opts.target,
    });
  }
  await put({
    connectorId: id,
    type: 'rest',
    baseUrl: 'http://127.0.0.1:1',
    retry: opts.retry ?? { maxAttempts: 2, baseDelayMs: 100 },
    operations: { getOrder: { method: 'GET', path: '/orders' } },
    delivery: { getOrder: opts.delivery ?? standardDelivery },
  });
  const recordId =
    opts.recordId === null ? undefined : (opts.recordId ?? sf.seed('Opportunity', { Name: `Deal ${seq}` }));
  const jobs = new JobStore(dynamo.client, dynamo.tables.jobs);
  const jobId = `job-${seq}`;
  await jobs.create(
    queuedJob({
      jobId,
      connectorId: id,
      operation: 'getOrder',
      payload: { orderId: 7 },
      ...(recordId && { recordId }),
    }),
  );
  const { wrapper, calls } = scripted(opts.steps);
  const connectors = new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0);
  const sleeps: number[] = [];
  const worker = jobWorker({
    connectors,
    jobs,
    queue: testQueue(),
    wrappers: { rest: wrapper } as WrapperMap,
    wrapperDeps: deps,
    logger,
    delivery: new SalesforceDelivery(connectors, deps),
    sleep: async (ms) => sleeps.push(ms),
    random: () => 0.5,
    ...(opts.inlineRetryMaxMs !== undefined && { inlineRetryMaxMs: opts.inlineRetryMaxMs }),
  });
  return { worker, jobs, jobId, id, recordId, calls, sleeps, record: sqsRecord(JSON.stringify({ jobId })) };
}

const shipped: ResultEnvelope = { statusCode: 200, data: { status: 'SHIPPED', total: 120.5 } };
const composites = () => sf.calls.filter((c) => c.path === '/composite' && !c.composite);

test('a succeeded job: result fields written onto the calling record and a Platform Event published, in one API call', async () => {
  const t = await setup({ steps: [shipped] });
  await t.worker.process(t.record);
  const job = (await t.jobs.get(t.jobId))!;
  expect(job).toMatchObject({
    status: 'SUCCEEDED',
    attempts: 1,
    result: shipped,
    delivery: { status: 'DELIVERED', attempts: 1, deliveredAt: expect.any(String) },
  });
  expect(jobView(job).delivery).toEqual(job.delivery);
  expect(sf.records.get(t.recordId!)).toMatchObject({
    Name: `Deal ${seq}`,
    ERP_Status__c: 'SHIPPED',
    ERP_Total__c: 120.5,
    ERP_Error__c: null,
    ERP_Job__c: t.jobId,
  });
  expect(sf.events).toEqual([
    {
      type: 'Callout_Result__e',
      id: expect.any(String),
      fields: {
        Job_Id__c: t.jobId,
        Connector_Id__c: t.id,
        Operation__c: 'getOrder',
        Status__c: 'SUCCEEDED',
        Record_Id__c: t.recordId,
        Result__c: JSON.stringify(shipped),
        Error__c: null,
      },
    },
  ]);
  expect(composites()).toHaveLength(1);
  expect(sf.tokenRequests).toHaveLength(1);
  expect(t.calls).toHaveLength(1);
});

test('a failed job delivers its error the same way', async () => {
  const t = await setup({ steps: [new UpstreamHttpError(404, 'The service answered HTTP 404: no such order')] });
  await t.worker.process(t.record);
  const job = (await t.jobs.get(t.jobId))!;
  expect(job).toMatchObject({
    status: 'FAILED',
    error: { code: 'UPSTREAM_HTTP_ERROR' },
    delivery: { status: 'DELIVERED', attempts: 1 },
  });
  expect(sf.records.get(t.recordId!)).toMatchObject({
    ERP_Status__c: null,
    ERP_Error__c: 'The service answered HTTP 404: no such order',
  });
  expect(sf.events[0]!.fields).toMatchObject({ Status__c: 'FAILED', Result__c: null });
  expect(JSON.parse(sf.events[0]!.fields.Error__c as string)).toEqual(job.error);
});

test('a delivery answered 503 is retried in the invocation; the external service is not called again', async () => {
  const t = await setup({ steps: [shipped] });
  sf.fail('POST /composite', {
    status: 503,
    errors: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'down for maintenance' }],
  });
  await t.worker.process(t.record);
  expect(await t.jobs.get(t.jobId)).toMatchObject({
    status: 'SUCCEEDED',
    attempts: 1,
    delivery: { status: 'DELIVERED', attempts: 2 },
  });
  expect(t.sleeps).toEqual([75]); // backoff of the target connector's retry settings (100 ms, equal jitter)
  expect(composites()).toHaveLength(2);
  expect(sf.events).toHaveLength(1);
  expect(t.calls).toHaveLength(1);
});

test('a longer wait hands the message back to SQS; the redelivered message only delivers', async () => {
  const t = await setup({ steps: [shipped], inlineRetryMaxMs: 0 });
  sf.fail('PATCH /sobjects/Opportunity', {
    status: 400,
    errors: [{ errorCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record' }],
  });
  await expect(t.worker.process(t.record)).rejects.toBeInstanceOf(RetryLaterError);
  const waiting = (await t.jobs.get(t.jobId))!;
  expect(waiting).toMatchObject({
    status: 'SUCCEEDED',
    attempts: 1,
    result: shipped,
    delivery: {
      status: 'PENDING',
      attempts: 1,
      error: { code: 'UPSTREAM_SALESFORCE_ERROR', retryable: true, statusCode: 400 },
      nextAttemptAt: expect.any(String),
    },
  });
  expect(waiting.delivery!.error!.message).toContain('UNABLE_TO_LOCK_ROW');
  expect(jobView(waiting)).toMatchObject({ status: 'SUCCEEDED', delivery: { status: 'PENDING' } });
  expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]!.args[0].input).toMatchObject({
    ReceiptHandle: t.record.receiptHandle,
    VisibilityTimeout: 1,
  });
  // allOrNone: the failed update published no event.
  expect(sf.events).toHaveLength(0);

  await t.worker.process(t.record); // SQS redelivers
  const done = (await t.jobs.get(t.jobId))!;
  expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 1, delivery: { status: 'DELIVERED', attempts: 2 } });
  expect(done.delivery!.error).toBeUndefined();
  expect(sf.records.get(t.recordId!)).toMatchObject({ ERP_Status__c: 'SHIPPED' });
  expect(sf.events).toHaveLength(1);
  expect(t.calls).toHaveLength(1);

  // A further redelivery (at-least-once) does nothing at all.
  await t.worker.process(t.record);
  expect(sf.events).toHaveLength(1);
  expect(t.calls).toHaveLength(1);
});

test('delivery attempts are capped by the target connector retry settings', async () => {
  const t = await setup({ steps: [shipped], target: { retry: { maxAttempts: 2, baseDelayMs: 10 } } });
  sf.fail('POST /composite', { status: 503, errors: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'down' }] }, 5);
  await t.worker.process(t.record);
  expect(await t.jobs.get(t.jobId)).toMatchObject({
    status: 'SUCCEEDED',
    delivery: {
      status: 'FAILED',
      attempts: 2,
      error: { code: 'UPSTREAM_SALESFORCE_ERROR', retryable: true, statusCode: 503 },
    },
  });
  expect(composites()).toHaveLength(2);
  expect(t.calls).toHaveLength(1);
});

test('a permanent Salesforce error fails the delivery at once and leaves the job as it ended', async () => {
  const t = await setup({ steps: [shipped], recordId: '006000000000009999' });
  await t.worker.process(t.record);
  const job = (await t.jobs.get(t.jobId))!;
  expect(job).toMatchObject({
    status: 'SUCCEEDED',
    result: shipped,
    delivery: {
      status: 'FAILED',
      attempts: 1,
      error: { code: 'UPSTREAM_SALESFORCE_ERROR', retryable: false, statusCode: 404 },
    },
  });
  expect(job.delivery!.error!.message).toBe(
    'Salesforce answered HTTP 404 for subrequest record: NOT_FOUND: The requested resource does not exist',
  );
  expect(sf.events).toHaveLength(0);
});

test('what cannot be delivered fails without a call: no recordId, missing target, target of another type', async () => {
  const noRecord = await setup({ steps: [shipped], recordId: null });
  await noRecord.worker.process(noRecord.record);
  expect(await noRecord.jobs.get(noRecord.jobId)).toMatchObject({
    delivery: { status: 'FAILED', attempts: 0, error: { code: 'DELIVERY_NO_RECORD_ID' } },
  });

  const missing = await setup({
    steps: [shipped],
    delivery: { ...standardDelivery, connectorId: 'no-such-connector' },
  });
  await missing.worker.process(missing.record);
  expect(await missing.jobs.get(missing.jobId)).toMatchObject({
    delivery: {
      status: 'FAILED',
      attempts: 0,
      error: { code: 'DELIVERY_TARGET_INVALID', message: 'The delivery connector "no-such-connector" does not exist' },
    },
  });

  const wrongType = await setup({ steps: [shipped], delivery: { ...standardDelivery, connectorId: `erp-${seq}` } });
  await wrongType.worker.process(wrongType.record);
  expect((await wrongType.jobs.get(wrongType.jobId))!.delivery!.error!.message).toContain(
    'is a rest connector, not salesforce',
  );
  expect(sf.calls).toHaveLength(0);
});

test('"on" limits which outcomes are delivered; "*" applies to every operation', async () => {
  const onlyFailures = await setup({ steps: [shipped], delivery: { ...standardDelivery, on: ['FAILED'] } });
  await onlyFailures.worker.process(onlyFailures.record);
  const job = (await onlyFailures.jobs.get(onlyFailures.jobId))!;
  expect(job.status).toBe('SUCCEEDED');
  expect(job.delivery).toBeUndefined();
  expect('delivery' in jobView(job)).toBe(false);

  const t = await setup({ steps: [shipped] });
  await put({
    connectorId: t.id,
    type: 'rest',
    baseUrl: 'http://127.0.0.1:1',
    operations: { getOrder: { method: 'GET', path: '/orders' } },
    delivery: {
      '*': { connectorId: 'sf-target', platformEvent: { fields: { Order_Status__c: 'result.data.status' } } },
    },
  });
  await t.worker.process(t.record);
  expect(await t.jobs.get(t.jobId)).toMatchObject({ delivery: { status: 'DELIVERED' } });
  expect(sf.events[0]!.fields).toMatchObject({ Job_Id__c: t.jobId, Order_Status__c: 'SHIPPED' });
});

test('a redelivered message for a pending delivery whose declaration was removed marks it FAILED', async () => {
  const t = await setup({ steps: [shipped], inlineRetryMaxMs: 0 });
  sf.fail('POST /composite', { status: 503, errors: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'down' }] });
  await expect(t.worker.process(t.record)).rejects.toBeInstanceOf(RetryLaterError);
  await put({
    connectorId: t.id,
    type: 'rest',
    baseUrl: 'http://127.0.0.1:1',
    operations: { getOrder: { method: 'GET', path: '/orders' } },
  });
  await t.worker.process(t.record);
  expect(await t.jobs.get(t.jobId)).toMatchObject({
    status: 'SUCCEEDED',
    delivery: { status: 'FAILED', attempts: 1, error: { code: 'DELIVERY_NOT_CONFIGURED' } },
  });
  expect(t.calls).toHaveLength(1);
});

test('worst case: every retry of the call and of its delivery deferred takes WORST_CASE_RECEIVES receives, under the default maxReceiveCount', async () => {
  // The largest retry.maxAttempts on both connectors; each wait handed back to SQS (one more receive each).
  const max = { maxAttempts: MAX_CONNECTOR_ATTEMPTS, baseDelayMs: 100 };
  const down = new UpstreamHttpError(503, 'The service answered HTTP 503');
  const t = await setup({
    steps: [...Array<Error>(MAX_CONNECTOR_ATTEMPTS - 1).fill(down), shipped],
    retry: max,
    target: { retry: max },
    inlineRetryMaxMs: 0,
  });
  sf.fail(
    'POST /composite',
    { status: 503, errors: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'down' }] },
    MAX_CONNECTOR_ATTEMPTS - 1,
  );
  let receives = 0;
  for (;;) {
    receives += 1;
    try {
      await t.worker.process(t.record);
      break;
    } catch (err) {
      expect(err).toBeInstanceOf(RetryLaterError);
      expect(receives).toBeLessThan(100);
    }
  }
  expect(await t.jobs.get(t.jobId)).toMatchObject({
    status: 'SUCCEEDED',
    attempts: MAX_CONNECTOR_ATTEMPTS,
    delivery: { status: 'DELIVERED', attempts: MAX_CONNECTOR_ATTEMPTS },
  });
  expect(t.calls).toHaveLength(MAX_CONNECTOR_ATTEMPTS);
  expect(composites()).toHaveLength(MAX_CONNECTOR_ATTEMPTS);
  expect(receives).toBe(WORST_CASE_RECEIVES);
  expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(WORST_CASE_RECEIVES - 1);
  expect(DEFAULT_MAX_RECEIVE_COUNT).toBeGreaterThan(WORST_CASE_RECEIVES);
});
