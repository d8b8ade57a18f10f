import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { UpstreamNetworkError } from '../../lambdas/shared/errors';
import type { ResultEnvelope } from '../../lambdas/connectors/types';
import { ConnectorLimiter, limitSettings } from '../../lambdas/domain/connector-limits';
import { DynamoLimiterStore } from '../../lambdas/adapters/limiter-store';
import { ConnectorStore } from '../../lambdas/adapters/connector-store';
import { jobView } from '../../lambdas/domain/job';
import { waitDelayMs } from '../../lambdas/domain/job-runner';
import { JobStore } from '../../lambdas/adapters/job-store';
import { startDynamo } from '../support/dynamo';
import { sqsRecord } from '../support/events';
import { mockLogger, scripted, scriptedRestRow, scriptedWorker } from '../support/worker';
import { queuedJob } from '../support/jobs';

/** The limiter's DynamoDB adapter on dynalite (two limiters = two workers), and the job runner's hook. */
let dynamo: Awaited<ReturnType<typeof startDynamo>>;
const sqsMock = mockClient(SQSClient);
const logger = mockLogger();
let seq = 0;

beforeAll(async () => {
  dynamo = await startDynamo();
});
afterAll(async () => {
  sqsMock.restore();
  await dynamo?.stop();
});
beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({});
});
/** The delayed message a waiting job was handed to (a wait uses none of the old message's receives). */
const requeued = (i = 0) => sqsMock.commandCalls(SendMessageCommand)[i]!.args[0].input;

const twoWorkers = () => [
  new ConnectorLimiter(new DynamoLimiterStore(dynamo.client, dynamo.tables.jobs)),
  new ConnectorLimiter(new DynamoLimiterStore(dynamo.client, dynamo.tables.jobs)),
];

describe('DynamoLimiterStore under concurrency', () => {
  test('maxConcurrency 3: of 12 concurrent acquires on two workers, exactly 3 get a permit; a release frees one', async () => {
    const id = `lim-${++seq}`;
    const settings = limitSettings({ timeoutMs: 5000, limits: { maxConcurrency: 3 } });
    const [a, b] = twoWorkers();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a! : b!).acquire(id, settings)));
    const permits = results.flatMap((r) => ('permit' in r ? [r.permit] : []));
    expect(permits).toHaveLength(3);
    expect(results.filter((r) => 'wait' in r && r.wait.reason === 'CONCURRENCY_LIMIT')).toHaveLength(9);
    await b!.release(id, settings, permits[0]!, { kind: 'ok' });
    expect('permit' in (await a!.acquire(id, settings))).toBe(true);
    expect('wait' in (await b!.acquire(id, settings))).toBe(true);
  });

  test('a write clears only the call ends it read: one recorded since stays, and the end leaves the version', async () => {
    const id = `lim-${++seq}`;
    const store = new DynamoLimiterStore(dynamo.client, dynamo.tables.jobs);
    const state = { calls: { a: { s: 1, x: 9e15 }, b: { s: 2, x: 9e15 } }, failures: 0 };
    expect(await store.write(id, state, undefined)).toBe(true);
    expect(await store.end(id, 'a', 10)).toBe(true);
    const read = (await store.read(id))!;
    expect(read).toMatchObject({ version: 1, ended: { a: 10 } });
    // Call b ends after the read; the write that took in a's end must not clear b's.
    expect(await store.end(id, 'b', 20)).toBe(true);
    expect(await store.write(id, state, read.version, Object.keys(read.ended ?? {}))).toBe(true);
    expect(await store.read(id)).toMatchObject({ version: 2, ended: { b: 20 } });
    expect((await store.read(id))!.ended).not.toHaveProperty('a');
  });

  test('perSecond 4: of 10 concurrent acquires on two workers, 4 get a permit, the others are told to come back spread out', async () => {
    const id = `lim-${++seq}`;
    const settings = limitSettings({ timeoutMs: 5000, limits: { perSecond: 4 } });
    const [a, b] = twoWorkers();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a! : b!).acquire(id, settings)));
    expect(results.filter((r) => 'permit' in r)).toHaveLength(4);
    const untils = results.flatMap((r) => ('wait' in r ? [r.wait.untilMs] : [])).sort((x, y) => x - y);
    expect(untils).toHaveLength(6);
    // Spread a quarter second apart (a refusal that keeps losing the race for the record keeps its own time).
    // Without spreading, all six would be told the same time (when the first call leaves the window).
    expect(new Set(untils).size).toBeGreaterThanOrEqual(2);
    expect(untils[untils.length - 1]! - untils[0]!).toBeGreaterThanOrEqual(250);
  });

  test('the breaker opened by one worker stops the other', async () => {
    const id = `lim-${++seq}`;
    const settings = limitSettings({ timeoutMs: 5000, circuitBreaker: { failureThreshold: 2, cooldownSeconds: 60 } });
    const [a, b] = twoWorkers();
    for (const w of [a!, b!]) {
      const r = await w.acquire(id, settings);
      if (!('permit' in r)) throw new Error('expected a permit');
      await w.release(id, settings, r.permit, { kind: 'failed', retryable: true });
    }
    expect(await a!.acquire(id, settings)).toMatchObject({ wait: { reason: 'CIRCUIT_OPEN' } });
    expect(await b!.acquire(id, settings)).toMatchObject({ wait: { reason: 'CIRCUIT_OPEN' } });
  });
});

describe('JobRunner with a limiter', () => {
  async function setup(steps: Array<Error | ResultEnvelope>, connectorExtra: Record<string, unknown>) {
    const id = `c-lim-${++seq}`;
    await dynamo.db.send(
      new PutCommand({
        TableName: dynamo.tables.connectors,
        Item: scriptedRestRow(id, connectorExtra),
      }),
    );
    const jobs = new JobStore(dynamo.client, dynamo.tables.jobs);
    const limiter = new ConnectorLimiter(new DynamoLimiterStore(dynamo.client, dynamo.tables.jobs));
    const { wrapper, calls } = scripted(steps);
    const worker = scriptedWorker(wrapper, {
      connectors: new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0),
      jobs,
      logger,
      limiter,
    });
    const newJob = async () => {
      const jobId = `job-lim-${++seq}`;
      await jobs.create(queuedJob({ jobId, connectorId: id }));
      return { jobId, record: sqsRecord(JSON.stringify({ jobId })) };
    };
    return { worker, jobs, limiter, calls, newJob, connectorId: id };
  }

  const ok: ResultEnvelope = { statusCode: 200, data: {} };

  test('a job over the limit gives its run back, waits in the queue with no attempt used, and runs on its next delivery', async () => {
    // One call in any 2 s: the slot frees too late to be booked ahead (1 s), so the job waits in the queue.
    const t = await setup([ok], { limits: { perSecond: 0.5 } });
    const first = await t.newJob();
    const second = await t.newJob();
    await t.worker.process(first.record);
    // Done with this message: the job is handed to a new, delayed one.
    await t.worker.process(second.record);
    const waiting = (await t.jobs.get(second.jobId))!;
    expect(waiting).toMatchObject({ status: 'QUEUED', attempts: 0, waits: 1 });
    expect(waiting.callStartedAt).toBeUndefined();
    expect(waiting.leaseUntil).toBeUndefined();
    expect(jobView(waiting)).toMatchObject({
      status: 'QUEUED',
      waiting: { reason: 'RATE_LIMIT', until: expect.any(String) },
    });
    expect(requeued()).toMatchObject({
      MessageBody: JSON.stringify({ jobId: second.jobId }),
      DelaySeconds: expect.any(Number),
    });
    expect(requeued().DelaySeconds).toBeLessThanOrEqual(2);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
    expect(t.calls).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1100));
    await t.worker.process(second.record);
    const done = (await t.jobs.get(second.jobId))!;
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    expect(jobView(done)).not.toHaveProperty('waiting');
    expect(done.waitingSince).toBeUndefined();
  });

  test('an open circuit makes no call; the job waits with reason CIRCUIT_OPEN', async () => {
    const t = await setup([new UpstreamNetworkError('refused')], {
      retry: { maxAttempts: 1, baseDelayMs: 100 },
      circuitBreaker: { failureThreshold: 1, cooldownSeconds: 60 },
    });
    const first = await t.newJob();
    await t.worker.process(first.record);
    expect(await t.jobs.get(first.jobId)).toMatchObject({ status: 'FAILED', attempts: 1 });
    const second = await t.newJob();
    await t.worker.process(second.record);
    expect(t.calls).toHaveLength(1);
    expect(jobView((await t.jobs.get(second.jobId))!)).toMatchObject({
      status: 'QUEUED',
      attempts: 0,
      waiting: { reason: 'CIRCUIT_OPEN' },
    });
    expect(requeued().DelaySeconds).toBeGreaterThanOrEqual(59);
  });

  test('a job that has waited longer than maxWaitSeconds fails RATE_LIMITED (CIRCUIT_OPEN for an open circuit)', async () => {
    const t = await setup([ok], { limits: { maxConcurrency: 1 }, maxWaitSeconds: 1 });
    const limits = limitSettings({ timeoutMs: 10_000, limits: { maxConcurrency: 1 } });
    const held = await t.limiter.acquire(t.connectorId, limits);
    expect('permit' in held).toBe(true);
    const job = await t.newJob();
    await t.worker.process(job.record);
    expect(jobView((await t.jobs.get(job.jobId))!)).toMatchObject({ waiting: { reason: 'CONCURRENCY_LIMIT' } });
    await new Promise((r) => setTimeout(r, 1100));
    await t.worker.process(job.record);
    expect(await t.jobs.get(job.jobId)).toMatchObject({
      status: 'FAILED',
      attempts: 0,
      error: { code: 'RATE_LIMITED', retryable: false },
    });
    expect(t.calls).toHaveLength(0);
  });
});

test('waitDelayMs: whole seconds (down for a perSecond turn, up otherwise), 1 s to 15 min, never much past the deadline', () => {
  expect(waitDelayMs(300, 3_600_000)).toBe(1000);
  expect(waitDelayMs(5000, 3_600_000)).toBe(5000);
  expect(waitDelayMs(2400, 3_600_000)).toBe(3000);
  expect(waitDelayMs(3400, 3_600_000, true)).toBe(2000); // back before its turn; the rest is waited inline
  expect(waitDelayMs(3_600_000, 3_600_000)).toBe(900_000); // SQS's longest delay; the job then waits again
  // Whatever the wait, a job never waits past its deadline by more than a second.
  expect(waitDelayMs(10 * 3_600_000, 60_000)).toBe(61_000);
});
