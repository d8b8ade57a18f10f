import type { ResultEnvelope, WrapperMap } from '../../../lambdas/connectors/types';
import { ConnectorLimiter, MemoryLimiterStore } from '../../../lambdas/domain/connector-limits';
import type { OutcomeDelivery } from '../../../lambdas/domain/outcome-delivery';
import {
  InfrastructureError,
  RequestPreparationError,
  RetryLaterError,
  UpstreamHttpError,
  UpstreamNetworkError,
  WriteConflictError,
} from '../../../lambdas/shared/errors';
import { sqsRecord } from '../../support/events';
import { jobWorker, scripted } from '../../support/worker';
import {
  MemoryConnectorSource,
  MemoryJobQueue,
  MemoryJobRepository,
  MemorySecretSource,
} from '../../support/memory-ports';
import { queuedJob } from '../../support/jobs';

/** The worker's job runner on in-memory ports (no emulator) with a scripted wrapper: its main paths. */
const ok: ResultEnvelope = { statusCode: 200, data: { ok: true } };

function setup(
  steps: Array<Error | ResultEnvelope>,
  connectorExtra: Record<string, unknown> = {},
  { limiter, delivery }: { limiter?: ConnectorLimiter; delivery?: OutcomeDelivery } = {},
) {
  const connectors = new MemoryConnectorSource([
    {
      connectorId: 'c',
      type: 'rest',
      baseUrl: 'http://127.0.0.1:1',
      retry: { maxAttempts: 3, baseDelayMs: 100 },
      operations: { op: { method: 'POST', path: '/x' } },
      ...connectorExtra,
    },
  ]);
  const jobs = new MemoryJobRepository();
  const queue = new MemoryJobQueue();
  const { wrapper, calls } = scripted(steps);
  const sleeps: number[] = [];
  const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
  const runner = jobWorker({
    connectors,
    jobs,
    queue,
    wrappers: { rest: wrapper } as WrapperMap,
    wrapperDeps: { secrets: new MemorySecretSource(), fetch: globalThis.fetch },
    logger,
    ...(limiter && { limiter }),
    ...(delivery && { delivery }),
    sleep: async (ms) => sleeps.push(ms),
    random: () => 0.5,
  });
  jobs.jobs.set('j1', queuedJob({ jobId: 'j1', connectorId: 'c', payload: { n: 1 } }));
  const record = sqsRecord(JSON.stringify({ jobId: 'j1' }));
  const job = () => jobs.jobs.get('j1')!;
  return { runner, jobs, queue, connectors, calls, sleeps, record, job, logger };
}

test('success on the first call: SUCCEEDED with the result, one attempt', async () => {
  const t = setup([ok]);
  await t.runner.process(t.record);
  expect(t.job()).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: ok });
  expect(t.job()).not.toHaveProperty('callStartedAt');
  expect(t.calls).toEqual([{ n: 1 }]);
});

test('retryable failures are retried inline with backoff, then succeed', async () => {
  const t = setup([new UpstreamHttpError(503, 'busy'), new UpstreamNetworkError('reset'), ok]);
  await t.runner.process(t.record);
  expect(t.job()).toMatchObject({ status: 'SUCCEEDED', attempts: 3 });
  expect(t.sleeps).toEqual([75, 150]);
});

test('retries exhausted: FAILED with the last error', async () => {
  const t = setup([new UpstreamHttpError(500, 'boom')]);
  await t.runner.process(t.record);
  expect(t.job()).toMatchObject({
    status: 'FAILED',
    attempts: 3,
    error: { code: 'UPSTREAM_HTTP_ERROR', retryable: true, statusCode: 500 },
  });
});

test('a non-retryable answer fails at once with its status', async () => {
  const t = setup([new UpstreamHttpError(400, 'bad')]);
  await t.runner.process(t.record);
  expect(t.job()).toMatchObject({
    status: 'FAILED',
    attempts: 1,
    error: { code: 'UPSTREAM_HTTP_ERROR', retryable: false, statusCode: 400 },
  });
  expect(t.calls).toHaveLength(1);
});

test('a long Retry-After defers the message; the redelivery finishes the job', async () => {
  const t = setup([new UpstreamHttpError(429, 'slow down', 30_000), ok]);
  await expect(t.runner.process(t.record)).rejects.toBeInstanceOf(RetryLaterError);
  expect(t.queue.deferred).toEqual([{ receiptHandle: t.record.receiptHandle, delayMs: 30_000 }]);
  expect(t.job()).toMatchObject({
    status: 'QUEUED',
    attempts: 1,
    error: { statusCode: 429 },
    nextAttemptAt: expect.any(String),
  });
  await t.runner.process(t.record);
  expect(t.job()).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
  expect(t.job()).not.toHaveProperty('error');
});

test('a request that cannot be built fails at once and counts no attempt', async () => {
  const t = setup([new RequestPreparationError('SECRET_NOT_FOUND', 'store it')]);
  await t.runner.process(t.record);
  expect(t.job()).toMatchObject({
    status: 'FAILED',
    attempts: 0,
    error: { code: 'SECRET_NOT_FOUND', retryable: false },
  });
});

test('an infrastructure failure gives the run back and goes to SQS redelivery', async () => {
  const t = setup([new InfrastructureError('SSM throttled'), ok]);
  await expect(t.runner.process(t.record)).rejects.toBeInstanceOf(InfrastructureError);
  expect(t.job()).toMatchObject({ status: 'QUEUED', attempts: 0 });
  expect(t.job()).not.toHaveProperty('callStartedAt');
  await t.runner.process(t.record);
  expect(t.job()).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
});

test('a redelivered message for an ended job calls nothing', async () => {
  const t = setup([ok]);
  await t.runner.process(t.record);
  await t.runner.process(t.record);
  expect(t.calls).toHaveLength(1);
});

test('a message for a job another worker runs under a live lease waits for the lease', async () => {
  const t = setup([ok]);
  await t.jobs.startRun('j1', new Date(Date.now() + 60_000));
  await expect(t.runner.process(t.record)).rejects.toBeInstanceOf(RetryLaterError);
  expect(t.calls).toHaveLength(0);
  expect(t.queue.deferred[0]!.delayMs).toBeGreaterThan(59_000);
});

test('a run whose lease passed with no outcome recorded ends OUTCOME_NOT_RECORDED without a call', async () => {
  const t = setup([ok]);
  await t.jobs.startRun('j1', new Date(Date.now() - 1));
  await t.runner.process(t.record);
  expect(t.calls).toHaveLength(0);
  expect(t.job()).toMatchObject({
    status: 'FAILED',
    attempts: 1,
    error: { code: 'OUTCOME_NOT_RECORDED', retryable: false },
  });
});

test('a connector deleted or disabled after the job was accepted fails it without a call', async () => {
  const t = setup([ok], { enabled: false });
  await t.runner.process(t.record);
  expect(t.job()).toMatchObject({ status: 'FAILED', attempts: 0, error: { code: 'CONNECTOR_DISABLED' } });
  const u = setup([ok]);
  u.connectors.delete('c');
  await u.runner.process(u.record);
  expect(u.job()).toMatchObject({ status: 'FAILED', attempts: 0, error: { code: 'CONNECTOR_NOT_FOUND' } });
  expect([...t.calls, ...u.calls]).toEqual([]);
});

test('an outcome that cannot be written after three tries ends the job OUTCOME_NOT_RECORDED; the service is called once', async () => {
  const t = setup([ok]);
  t.jobs.failNext(
    'succeed',
    Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }),
    3,
  );
  await t.runner.process(t.record);
  expect(t.calls).toHaveLength(1);
  expect(t.sleeps).toEqual([100, 400]);
  expect(t.job()).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'OUTCOME_NOT_RECORDED' } });
  expect(t.job().error!.message).toMatch(/answered with HTTP 200.*not repeated/);
});

test('a lost write condition (WriteConflictError) is not written again: the job changed under the run', async () => {
  const t = setup([ok]);
  t.jobs.failNext('succeed', new WriteConflictError('changed'));
  await t.runner.process(t.record);
  expect(t.jobs.calls.filter((m) => m === 'succeed')).toHaveLength(1);
  expect(t.sleeps).toEqual([]);
  expect(t.job()).toMatchObject({ status: 'FAILED', error: { code: 'OUTCOME_NOT_RECORDED' } });
});

test('a connector at its concurrency limit makes the job wait in a new, delayed message, using no attempt', async () => {
  const limiter = new ConnectorLimiter(new MemoryLimiterStore());
  const t = setup([ok], { limits: { maxConcurrency: 1 } }, { limiter });
  const held = await limiter.acquire('c', {
    maxConcurrency: 1,
    breaker: false,
    failureThreshold: 5,
    cooldownMs: 30_000,
    maxWaitMs: 3_600_000,
    leaseMs: 60_000,
  });
  expect(held).toHaveProperty('permit');
  // Done with this record: the wait uses no receive of it (so waiting never dead-letters a job).
  await t.runner.process(t.record);
  expect(t.calls).toHaveLength(0);
  expect(t.job()).toMatchObject({ status: 'QUEUED', attempts: 0, waits: 1, waiting: { reason: 'CONCURRENCY_LIMIT' } });
  expect(t.queue.deferred).toHaveLength(0);
  expect(t.queue.sent).toEqual([{ kind: 'job', jobId: 'j1', delayMs: expect.any(Number) }]);
});

test('at its concurrency limit, a job that is to follow a call expected to end soon waits for it in the worker', async () => {
  const limiter = new ConnectorLimiter(new MemoryLimiterStore());
  const settings = {
    maxConcurrency: 1,
    breaker: false,
    failureThreshold: 5,
    cooldownMs: 30_000,
    maxWaitMs: 3_600_000,
    leaseMs: 60_000,
  };
  // A first call has ended (the record knows how long calls take); another holds the only slot.
  const first = await limiter.acquire('c', settings);
  if (!('permit' in first)) throw new Error('expected a permit');
  await limiter.release('c', settings, first.permit, { kind: 'ok' });
  const held = await limiter.acquire('c', settings);
  if (!('permit' in held)) throw new Error('expected a permit');
  // That call ends while the job waits: the job's second ask finds the slot free.
  const acquire = limiter.acquire.bind(limiter);
  let asks = 0;
  limiter.acquire = async (...a) => {
    if (++asks === 2) await limiter.release('c', settings, held.permit, { kind: 'ok' });
    return acquire(...a);
  };
  const t = setup([ok], { limits: { maxConcurrency: 1 } }, { limiter });
  await t.runner.process(t.record);
  expect(t.sleeps).toHaveLength(1);
  expect(t.sleeps[0]).toBeLessThan(1000);
  expect(t.queue.sent).toEqual([]);
  expect(t.job()).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
});

test('a message that is not a job message is left for the DLQ', async () => {
  const t = setup([ok]);
  await expect(t.runner.process(sqsRecord('{"nope":1}'))).rejects.toThrow(/Malformed queue message/);
});

test('a delivery that cannot be prepared (nothing sent) is recorded FAILED with its code, not left to SQS', async () => {
  const delivery: OutcomeDelivery = {
    prepare: async () => {
      throw new RequestPreparationError('DELIVERY_TARGET_INVALID', 'Connector "sf" is not a salesforce connector');
    },
  };
  const t = setup([ok], { delivery: { op: { connectorId: 'sf', platformEvent: {} } } }, { delivery });
  await t.runner.process(t.record);
  expect(t.job()).toMatchObject({
    status: 'SUCCEEDED',
    delivery: { status: 'FAILED', attempts: 0, error: { code: 'DELIVERY_TARGET_INVALID', retryable: false } },
  });
});

test('an unsent request tells the circuit breaker nothing: the next job is not held back', async () => {
  const limiter = new ConnectorLimiter(new MemoryLimiterStore());
  const t = setup(
    [new RequestPreparationError('SECRET_NOT_FOUND', 'store it')],
    { circuitBreaker: { failureThreshold: 1 } },
    { limiter },
  );
  await t.runner.process(t.record);
  expect(t.job()).toMatchObject({ status: 'FAILED', attempts: 0, error: { code: 'SECRET_NOT_FOUND' } });
  const next = await limiter.acquire('c', {
    breaker: true,
    failureThreshold: 1,
    cooldownMs: 30_000,
    maxWaitMs: 3_600_000,
    leaseMs: 60_000,
  });
  expect(next).toHaveProperty('permit');
});
