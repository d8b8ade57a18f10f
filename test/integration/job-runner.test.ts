import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import {
  InfrastructureError,
  RequestPreparationError,
  UpstreamHttpError,
  UpstreamNetworkError,
} from '../../lambdas/shared/errors';
import type { ResultEnvelope } from '../../lambdas/connectors/types';
import { ConnectorStore } from '../../lambdas/adapters/connector-store';
import { RetryLaterError } from '../../lambdas/shared/errors';
import { JobStore } from '../../lambdas/adapters/job-store';
import { S3JobDataStore } from '../../lambdas/adapters/s3-job-data-store';
import { startDynamo } from '../support/dynamo';
import { sqsRecord } from '../support/events';
import { startS3 } from '../support/s3';
import { mockLogger, scripted, scriptedRestRow, scriptedWorker } from '../support/worker';
import { queuedJob } from '../support/jobs';

/** The worker's job runner, behind the worker's message dispatcher, with real stores on dynalite and S3 (fauxqs), a real JobQueue over a mocked SQS client, and a scripted wrapper. */
let dynamo: Awaited<ReturnType<typeof startDynamo>>;
let s3: Awaited<ReturnType<typeof startS3>>;
let data: S3JobDataStore;
const sqsMock = mockClient(SQSClient);
const logger = mockLogger();
let seq = 0;

beforeAll(async () => {
  [dynamo, s3] = await Promise.all([startDynamo(), startS3()]);
  data = new S3JobDataStore(() => s3.client, await s3.createBucket('job-data'));
});
afterAll(async () => {
  sqsMock.restore();
  await Promise.all([dynamo?.stop(), s3?.stop()]);
});
beforeEach(() => sqsMock.reset());

async function setup(
  steps: Array<Error | ResultEnvelope>,
  connectorExtra: Record<string, unknown> = {},
  { payload, jobs: makeJobs }: { payload?: unknown; jobs?: (healthy: JobStore) => JobStore } = {},
) {
  const id = `c-${++seq}`;
  await dynamo.db.send(
    new PutCommand({
      TableName: dynamo.tables.connectors,
      Item: scriptedRestRow(id, connectorExtra),
    }),
  );
  const healthy = new JobStore(dynamo.client, dynamo.tables.jobs, 30, Date.now, { data });
  const jobs = makeJobs ? makeJobs(healthy) : healthy;
  const jobId = `job-${seq}`;
  await healthy.create(queuedJob({ jobId, connectorId: id, payload: payload ?? { n: seq } }));
  const { wrapper, calls } = scripted(steps);
  const sleeps: number[] = [];
  const worker = scriptedWorker(wrapper, {
    connectors: new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0),
    jobs,
    logger,
    sleep: async (ms) => sleeps.push(ms),
  });
  const record = sqsRecord(JSON.stringify({ jobId }));
  return { worker, jobs: healthy, jobId, calls, sleeps, record };
}

const ok: ResultEnvelope = { statusCode: 200, data: { ok: true } };

test('success on the first call', async () => {
  const t = await setup([ok]);
  await t.worker.process(t.record);
  expect(await t.jobs.get(t.jobId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: ok });
  expect(t.calls).toEqual([{ n: seq }]);
});

test('retryable failures are retried in the invocation with backoff, then succeed', async () => {
  const t = await setup([new UpstreamHttpError(503, 'busy'), new UpstreamNetworkError('reset'), ok]);
  await t.worker.process(t.record);
  expect(await t.jobs.get(t.jobId)).toMatchObject({ status: 'SUCCEEDED', attempts: 3 });
  expect(t.sleeps).toEqual([75, 150]); // base 100: steps 100, 200 with equal jitter at random 0.5
});

test('retries exhausted: FAILED with the last error, retryable true', async () => {
  const t = await setup([new UpstreamHttpError(500, 'boom')]);
  await t.worker.process(t.record);
  expect(await t.jobs.get(t.jobId)).toMatchObject({
    status: 'FAILED',
    attempts: 3,
    error: { code: 'UPSTREAM_HTTP_ERROR', retryable: true, statusCode: 500 },
  });
});

test('a long Retry-After hands the message back to SQS, and the redelivery finishes the job', async () => {
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  const t = await setup([new UpstreamHttpError(429, 'slow down', 30_000), ok]);
  await expect(t.worker.process(t.record)).rejects.toBeInstanceOf(RetryLaterError);
  const visibility = sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]!.args[0].input;
  expect(visibility).toMatchObject({ ReceiptHandle: t.record.receiptHandle, VisibilityTimeout: 30 });
  expect(await t.jobs.get(t.jobId)).toMatchObject({
    status: 'QUEUED',
    attempts: 1,
    error: { statusCode: 429 },
    nextAttemptAt: expect.any(String),
  });
  expect(t.sleeps).toEqual([]);
  await t.worker.process(t.record); // SQS redelivers after the visibility timeout
  const done = await t.jobs.get(t.jobId);
  expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
  expect(done!.error).toBeUndefined();
});

test('a short wait is deferred too when the invocation has no time left for it', async () => {
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  const t = await setup([new UpstreamHttpError(503, 'busy'), ok]);
  await expect(t.worker.process(t.record, () => 2_000)).rejects.toBeInstanceOf(RetryLaterError);
  expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(1);
});

test('a request that cannot be built fails at once and counts no attempt', async () => {
  const t = await setup([new RequestPreparationError('SECRET_NOT_FOUND', 'store it')]);
  await t.worker.process(t.record);
  expect(await t.jobs.get(t.jobId)).toMatchObject({
    status: 'FAILED',
    attempts: 0,
    error: { code: 'SECRET_NOT_FOUND', retryable: false },
  });
});

test('an infrastructure failure is left to SQS redelivery; the job is not failed', async () => {
  const t = await setup([new InfrastructureError('SSM throttled'), ok]);
  await expect(t.worker.process(t.record)).rejects.toBeInstanceOf(InfrastructureError);
  // The run is given back (nothing was called), so the redelivery may start at once.
  expect(await t.jobs.get(t.jobId)).toMatchObject({ status: 'QUEUED', attempts: 0 });
  await t.worker.process(t.record);
  expect(await t.jobs.get(t.jobId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
});

test('a redelivered message for a finished job calls nothing', async () => {
  const t = await setup([ok]);
  await t.worker.process(t.record);
  await t.worker.process(t.record);
  expect(t.calls).toHaveLength(1);
});

test('a connector disabled after the job was accepted fails it without a call', async () => {
  const t = await setup([ok], { enabled: false });
  await t.worker.process(t.record);
  expect(await t.jobs.get(t.jobId)).toMatchObject({
    status: 'FAILED',
    attempts: 0,
    error: { code: 'CONNECTOR_DISABLED', retryable: false },
  });
  expect(t.calls).toHaveLength(0);
});

/** SQS delivers the same message again (here at once; `lease` is the invocation's time left, so 1 ms lets the lease pass). */
async function redeliver(t: Awaited<ReturnType<typeof setup>>, times: number, lease = () => 1) {
  for (let i = 0; i < times; i += 1) {
    await t.worker.process(t.record, lease).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a payload and result too large for the job item are kept in S3: SUCCEEDED in full, and the service called once across redeliveries', async () => {
  const payload = { big: 'p'.repeat(200 * 1024) };
  const result: ResultEnvelope = { statusCode: 200, data: { rows: 'r'.repeat(1024 * 1024) } };
  const t = await setup([result], {}, { payload });
  await redeliver(t, 5);
  expect(t.calls).toEqual([payload]);
  const job = await t.jobs.get(t.jobId);
  expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  expect(job!.result).toEqual(result);
  expect(job!.payload).toEqual(payload);
});

test('a result over 5 MB ends the job FAILED with RESULT_TOO_LARGE, and redeliveries call nothing', async () => {
  const t = await setup([{ statusCode: 200, data: 'x'.repeat(5 * 1024 * 1024) }]);
  await redeliver(t, 3);
  expect(t.calls).toHaveLength(1);
  expect(await t.jobs.get(t.jobId)).toMatchObject({
    status: 'FAILED',
    attempts: 1,
    error: { code: 'RESULT_TOO_LARGE', statusCode: 200, retryable: false },
  });
});

/** A JobStore whose writes of an outcome fail (DynamoDB throttled, or down for writes). */
function failing(healthy: JobStore, which: Array<'succeed' | 'fail'>): JobStore {
  const broken = Object.create(healthy) as JobStore;
  const refuse = async () => {
    throw Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
      name: 'ProvisionedThroughputExceededException',
    });
  };
  for (const method of which) broken[method] = refuse;
  return broken;
}

test('an outcome that cannot be recorded after retries ends the job OUTCOME_NOT_RECORDED; the service is not called again', async () => {
  const t = await setup([ok], {}, { jobs: (healthy) => failing(healthy, ['succeed']) });
  await redeliver(t, 4);
  expect(t.calls).toHaveLength(1);
  expect(t.sleeps).toEqual([100, 400]); // the write was tried three times
  const job = await t.jobs.get(t.jobId);
  expect(job).toMatchObject({
    status: 'FAILED',
    attempts: 1,
    error: { code: 'OUTCOME_NOT_RECORDED', retryable: false },
  });
  expect(job!.error!.message).toMatch(/answered with HTTP 200.*not repeated/);
});

test('when nothing can be written after the call, the redelivery waits for the lease, then ends the job OUTCOME_NOT_RECORDED without calling', async () => {
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  const healthyWorker = (await setup([ok])).worker;
  const t = await setup([ok], {}, { jobs: (healthy) => failing(healthy, ['succeed', 'fail']) });
  await expect(t.worker.process(t.record, () => 3_000)).rejects.toThrow(/throughput/);
  expect(t.calls).toHaveLength(1);
  // The table recovers; a redelivery within the lease defers, and calls nothing.
  const { leaseUntil } = (await t.jobs.get(t.jobId))!;
  await expect(healthyWorker.process(t.record, () => 60_000)).rejects.toBeInstanceOf(RetryLaterError);
  await new Promise((r) => setTimeout(r, Date.parse(leaseUntil!) - Date.now() + 20));
  await healthyWorker.process(t.record, () => 60_000);
  const job = await t.jobs.get(t.jobId);
  expect(job).toMatchObject({
    status: 'FAILED',
    attempts: 1,
    error: { code: 'OUTCOME_NOT_RECORDED', retryable: false },
  });
  expect(job!.error!.message).toMatch(/may have reached the service/);
  expect(job).not.toHaveProperty('callStartedAt');
  // And the ended job's messages are dropped.
  await healthyWorker.process(t.record, () => 60_000);
  expect(t.calls).toHaveLength(1);
});

test('a write that fails before any call gives the run back: the redelivery runs the job, it is not taken for interrupted', async () => {
  const healthyWorker = (await setup([ok])).worker;
  const t = await setup([ok], { enabled: false }, { jobs: (healthy) => failing(healthy, ['fail']) });
  await expect(t.worker.process(t.record, () => 1)).rejects.toThrow(/throughput/);
  expect(await t.jobs.get(t.jobId)).toMatchObject({ status: 'QUEUED' });
  await healthyWorker.process(t.record, () => 60_000);
  expect(await t.jobs.get(t.jobId)).toMatchObject({
    status: 'FAILED',
    attempts: 0,
    error: { code: 'CONNECTOR_DISABLED' },
  });
  expect(t.calls).toHaveLength(0);
});

test('malformed or orphan messages throw, so SQS can dead-letter them', async () => {
  const t = await setup([ok]);
  await expect(t.worker.process(sqsRecord('not json'))).rejects.toThrow(/Malformed/);
  await expect(t.worker.process(sqsRecord(JSON.stringify({ jobId: 'nope' })))).rejects.toThrow(/does not exist/);
});

test('a second message for a job another worker is running waits for that run, and never calls the service twice', async () => {
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  const t = await setup([ok]);
  // SQS delivers at least once: the same job's message reaches two workers; the first holds the run for 30 s.
  const first = await t.jobs.startRun(t.jobId, new Date(Date.now() + 30_000));
  expect('job' in first).toBe(true);
  await expect(t.worker.process(t.record, () => 60_000)).rejects.toBeInstanceOf(RetryLaterError);
  expect(t.calls).toHaveLength(0);
  const deferred = sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]!.args[0].input.VisibilityTimeout!;
  expect(deferred).toBeGreaterThanOrEqual(30);
  expect(deferred).toBeLessThanOrEqual(32);
  // The first worker finishes; the deferred message then finds the job ended and calls nothing.
  await t.jobs.succeed(t.jobId, 1, { statusCode: 200, data: 'first' });
  await t.worker.process(t.record, () => 60_000);
  expect(t.calls).toHaveLength(0);
  expect(await t.jobs.get(t.jobId)).toMatchObject({ status: 'SUCCEEDED', result: { data: 'first' } });
});

test.each(['toString', 'constructor', 'hasOwnProperty'])(
  'a job naming the inherited operation %s fails with OPERATION_NOT_FOUND without a call',
  async (operation) => {
    const t = await setup([ok]);
    // As if written straight into the table, or accepted before the controller checked own keys.
    const jobId = `${t.jobId}-${operation}`;
    await t.jobs.create(queuedJob({ jobId, connectorId: `c-${seq}`, operation }));
    await t.worker.process(sqsRecord(JSON.stringify({ jobId })));
    expect(await t.jobs.get(jobId)).toMatchObject({
      status: 'FAILED',
      attempts: 0,
      error: { code: 'OPERATION_NOT_FOUND', retryable: false },
    });
    expect(t.calls).toHaveLength(0);
  },
);
