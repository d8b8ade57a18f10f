import {
  InfrastructureError,
  RequestPreparationError,
  RetryLaterError,
  UpstreamHttpError,
  UpstreamNetworkError,
} from '../../lambdas/shared/errors';
import { RetryDriver, type PlannedRetry, type RetriedWork } from '../../lambdas/domain/retry-driver';

/** The one retry loop of the worker, with a recorded queue and sleep: no servers, no emulators. */
const record = { messageId: 'm-1', body: '{}', receiptHandle: 'rh-1' };
const forever = () => Number.POSITIVE_INFINITY;

function driver(opts: { inlineRetryMaxMs?: number } = {}) {
  const deferred: Array<[string, number]> = [];
  const sleeps: number[] = [];
  const d = new RetryDriver({
    queue: { deferMessage: async (handle, ms) => void deferred.push([handle, ms]) },
    sleep: async (ms) => sleeps.push(ms),
    random: () => 0.5,
    ...opts,
  });
  return { d, deferred, sleeps };
}

/** Work whose attempts play a script (the last step repeats), recording what the driver tells it. */
function scripted(steps: Array<Error | string>, extra: Partial<RetriedWork<string>> = {}) {
  let calls = 0;
  const retries: PlannedRetry[] = [];
  const deferrals: PlannedRetry[] = [];
  const work: RetriedWork<string> = {
    label: 'Job j-1: attempt',
    attempts: 0,
    retry: { maxAttempts: 3, baseDelayMs: 100 },
    timeoutMs: 1000,
    attempt: async () => {
      const step = steps[Math.min(calls++, steps.length - 1)]!;
      if (step instanceof Error) throw step;
      return step;
    },
    retrying: (r) => void retries.push(r),
    deferring: async (r) => void deferrals.push(r),
    ...extra,
  };
  return { work, retries, deferrals, calls: () => calls };
}

test('a first attempt that succeeds counts on top of the attempts already recorded', async () => {
  const { d, sleeps } = driver();
  const s = scripted(['ok'], { attempts: 1 });
  await expect(d.run(s.work, record, forever)).resolves.toMatchObject({ kind: 'succeeded', value: 'ok', attempts: 2 });
  expect(sleeps).toEqual([]);
});

test('retryable failures wait inline with backoff and jitter, then succeed', async () => {
  const { d, sleeps, deferred } = driver();
  const s = scripted([new UpstreamHttpError(503, 'busy'), new UpstreamNetworkError('reset'), 'ok']);
  await expect(d.run(s.work, record, forever)).resolves.toMatchObject({ kind: 'succeeded', attempts: 3 });
  expect(sleeps).toEqual([75, 150]); // steps 100, 200 with equal jitter at random 0.5
  expect(s.retries.map((r) => [r.attempts, r.by, r.delayMs, r.error.code])).toEqual([
    [1, 'inline', 75, 'UPSTREAM_HTTP_ERROR'],
    [2, 'inline', 150, 'UPSTREAM_NETWORK_ERROR'],
  ]);
  expect(deferred).toEqual([]);
});

test('retries used up: failed with the last error and every attempt counted', async () => {
  const { d, sleeps } = driver();
  const s = scripted([new UpstreamHttpError(500, 'boom')]);
  const outcome = await d.run(s.work, record, forever);
  expect(outcome).toMatchObject({
    kind: 'failed',
    attempts: 3,
    error: { code: 'UPSTREAM_HTTP_ERROR', statusCode: 500, retryable: true },
  });
  expect(sleeps).toHaveLength(2);
  expect(s.calls()).toBe(3);
});

test('a failure the policy does not retry ends at once', async () => {
  const { d, sleeps } = driver();
  const s = scripted([new UpstreamHttpError(404, 'gone')]);
  await expect(d.run(s.work, record, forever)).resolves.toMatchObject({
    kind: 'failed',
    attempts: 1,
    error: { code: 'UPSTREAM_HTTP_ERROR', retryable: false },
  });
  expect(sleeps).toEqual([]);
  expect(s.retries).toEqual([]);
});

test('a long wait (Retry-After) is recorded, handed back to SQS with its delay, and thrown as RetryLaterError', async () => {
  const { d, sleeps, deferred } = driver();
  const s = scripted([new UpstreamHttpError(429, 'slow down', 60_000)]);
  await expect(d.run(s.work, record, forever)).rejects.toThrow(
    new RetryLaterError('Job j-1: attempt 1 failed (UPSTREAM_HTTP_ERROR); retrying in 60000 ms'),
  );
  expect(s.deferrals).toMatchObject([{ attempts: 1, delayMs: 60_000, by: 'queue' }]);
  expect(s.retries).toMatchObject([{ by: 'queue' }]);
  expect(deferred).toEqual([['rh-1', 60_000]]);
  expect(sleeps).toEqual([]);
});

test('a short wait goes to the queue when the invocation has no room for it and the next attempt', async () => {
  const { d, sleeps, deferred } = driver();
  const s = scripted([new UpstreamHttpError(503, 'busy')]);
  // 75 ms wait + 1000 ms timeout + 1000 ms margin do not fit in 2000 ms.
  await expect(d.run(s.work, record, () => 2000)).rejects.toBeInstanceOf(RetryLaterError);
  expect(deferred).toEqual([['rh-1', 75]]);
  expect(sleeps).toEqual([]);
});

test('inlineRetryMaxMs sets the longest inline wait', async () => {
  const { d, deferred } = driver({ inlineRetryMaxMs: 50 });
  await expect(d.run(scripted([new UpstreamHttpError(503, 'busy')]).work, record, forever)).rejects.toBeInstanceOf(
    RetryLaterError,
  );
  expect(deferred).toEqual([['rh-1', 75]]);
});

test('deferring false stops the work: nothing is handed back to SQS', async () => {
  const { d, deferred } = driver();
  const s = scripted([new UpstreamHttpError(429, 'slow down', 60_000)], { deferring: async () => false });
  await expect(d.run(s.work, record, forever)).resolves.toEqual({ kind: 'stopped' });
  expect(deferred).toEqual([]);
});

test('an infrastructure failure is thrown as is, never retried', async () => {
  const { d, sleeps } = driver();
  const s = scripted([new InfrastructureError('no secrets')]);
  await expect(d.run(s.work, record, forever)).rejects.toBeInstanceOf(InfrastructureError);
  expect(s.calls()).toBe(1);
  expect(sleeps).toEqual([]);
});

test('an attempt that could not be prepared sent nothing and is not counted', async () => {
  const { d } = driver();
  const s = scripted([new RequestPreparationError('DELIVERY_MAPPING_FAILED', 'bad mapping')], { attempts: 2 });
  await expect(d.run(s.work, record, forever)).resolves.toMatchObject({
    kind: 'failed',
    attempts: 2,
    error: { code: 'DELIVERY_MAPPING_FAILED' },
  });
});

test('before runs ahead of every attempt with the attempts made, passes its value on, and null stops', async () => {
  const { d } = driver();
  const seen: number[] = [];
  const admitted: unknown[] = [];
  const work: RetriedWork<string, string> = {
    ...scripted([]).work,
    attempts: 1,
    retry: { maxAttempts: 5, baseDelayMs: 100 },
    before: async (attempts) => (seen.push(attempts), attempts < 3 ? `permit-${attempts}` : null),
    attempt: async (permit) => {
      admitted.push(permit);
      throw new UpstreamHttpError(503, 'busy');
    },
  };
  await expect(d.run(work, record, forever)).resolves.toEqual({ kind: 'stopped' });
  expect(seen).toEqual([1, 2, 3]);
  expect(admitted).toEqual(['permit-1', 'permit-2']);
});
