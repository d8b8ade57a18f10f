import { JobStore } from '../../lambdas/adapters/job-store';
import type { Job } from '../../lambdas/domain/job';
import type { JobRepository } from '../../lambdas/domain/job-repository';
import { WriteConflictError } from '../../lambdas/shared/errors';
import { startDynamo } from '../support/dynamo';
import { MemoryJobRepository } from '../support/memory-ports';
import { queuedJob } from '../support/jobs';

/**
 * The JobRepository port's contract, run on the DynamoDB adapter (dynalite) and
 * on the in-memory implementation the domain's unit tests use: the same
 * transitions give the same answers, so those unit tests prove what they claim.
 */
let dynamo: Awaited<ReturnType<typeof startDynamo>>;
beforeAll(async () => {
  dynamo = await startDynamo();
});
afterAll(async () => dynamo?.stop());

let seq = 0;
const job = (connectorId = 'c', createdAt = new Date().toISOString()): Job =>
  queuedJob({ jobId: `contract-${++seq}`, connectorId, createdAt, payload: { n: seq } });
const err = { code: 'UPSTREAM_HTTP_ERROR', message: 'boom', retryable: true, statusCode: 500 };

describe.each([
  ['DynamoDB adapter', (): JobRepository => new JobStore(dynamo.client, dynamo.tables.jobs)],
  ['in-memory', (): JobRepository => new MemoryJobRepository()],
])('JobRepository: %s', (_name, make) => {
  test('create is once only: a second create is a WriteConflictError', async () => {
    const repo = make();
    const j = job();
    await repo.create(j);
    await expect(repo.create(j)).rejects.toBeInstanceOf(WriteConflictError);
    expect(await repo.get(j.jobId)).toMatchObject({ status: 'QUEUED', payload: j.payload });
    expect(await repo.get('contract-missing')).toBeUndefined();
  });

  test('a run: started under a lease, busy for another message, interrupted once the lease passed, ended once', async () => {
    const repo = make();
    const j = job();
    await repo.create(j);
    const run = await repo.startRun(j.jobId, new Date(Date.now() + 60_000));
    expect(run).toMatchObject({ job: { status: 'RUNNING', callStartedAt: expect.any(String), payload: j.payload } });
    expect(await repo.startRun(j.jobId, new Date(Date.now() + 60_000))).toMatchObject({ busy: { status: 'RUNNING' } });
    expect(await repo.startRun('contract-missing', new Date())).toEqual({ missing: true });

    const k = job();
    await repo.create(k);
    await repo.startRun(k.jobId, new Date(Date.now() - 1));
    const found = await repo.startRun(k.jobId, new Date(Date.now() + 60_000));
    expect(found).toMatchObject({ interrupted: { status: 'RUNNING', callStartedAt: expect.any(String) } });
    const interrupted = (found as { interrupted: Job & { callStartedAt: string } }).interrupted;
    const outcome = { code: 'OUTCOME_NOT_RECORDED', message: 'm', retryable: false };
    expect(await repo.failInterrupted(interrupted, 1, outcome, { status: 'PENDING', attempts: 0 })).toMatchObject({
      status: 'FAILED',
      error: outcome,
    });
    expect(await repo.failInterrupted(interrupted, 1, outcome)).toBe(false);
    expect(await repo.startRun(k.jobId, new Date(Date.now() + 60_000))).toMatchObject({ ended: { status: 'FAILED' } });
  });

  test('a run given back is QUEUED without its call mark; a wait is counted; a wait on a job not running is a WriteConflictError', async () => {
    const repo = make();
    const j = job();
    await repo.create(j);
    await repo.startRun(j.jobId, new Date(Date.now() + 60_000));
    await repo.releaseRun(j.jobId);
    const released = await repo.get(j.jobId);
    expect(released).toMatchObject({ status: 'QUEUED' });
    expect(released).not.toHaveProperty('callStartedAt');
    await repo.startRun(j.jobId, new Date(Date.now() + 60_000));
    expect(await repo.recordWait(j.jobId, 0, { reason: 'RATE_LIMIT', until: new Date().toISOString() })).toMatchObject({
      waits: 1,
      waitingSince: expect.any(String),
    });
    await expect(repo.recordWait(j.jobId, 0, { reason: 'RATE_LIMIT' })).rejects.toBeInstanceOf(WriteConflictError);
    await repo.startRun(j.jobId, new Date(Date.now() + 60_000));
    expect(await repo.recordWait(j.jobId, 0, { reason: 'RATE_LIMIT' })).toMatchObject({ waits: 2 });
  });

  test('outcomes: the ended job comes back only with a delivery; a deferred retry keeps its error until the end; setDelivery needs the job', async () => {
    const repo = make();
    const j = job();
    await repo.create(j);
    await repo.startRun(j.jobId, new Date(Date.now() + 60_000));
    await repo.recordDeferredRetry(j.jobId, 1, err, new Date(Date.now() + 30_000));
    expect(await repo.get(j.jobId)).toMatchObject({
      status: 'QUEUED',
      attempts: 1,
      error: err,
      nextAttemptAt: expect.any(String),
    });
    expect(await repo.succeed(j.jobId, 2, { statusCode: 200, data: 1 })).toBeUndefined();
    const done = await repo.get(j.jobId);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 2, result: { statusCode: 200, data: 1 } });
    expect(done).not.toHaveProperty('error');
    expect(done).not.toHaveProperty('nextAttemptAt');
    expect(await repo.fail(j.jobId, 2, err, { status: 'PENDING', attempts: 0 })).toMatchObject({
      status: 'FAILED',
      error: err,
      delivery: { status: 'PENDING' },
    });
    await repo.setDelivery(j.jobId, { status: 'DELIVERED', attempts: 1 });
    expect(await repo.get(j.jobId)).toMatchObject({ delivery: { status: 'DELIVERED', attempts: 1 } });
    await expect(repo.setDelivery('contract-missing', { status: 'DELIVERED', attempts: 1 })).rejects.toBeInstanceOf(
      WriteConflictError,
    );
    await expect(repo.fail('contract-missing', 1, err)).rejects.toBeInstanceOf(WriteConflictError);
  });

  test('retry: only a FAILED job, once; undone as it was when its message cannot be queued', async () => {
    const repo = make();
    const j = job();
    await repo.create(j);
    expect(await repo.retry(j.jobId)).toMatchObject({ notRetryable: { status: 'QUEUED' } });
    expect(await repo.retry('contract-missing')).toEqual({ missing: true });
    await repo.fail(j.jobId, 3, err);
    const failed = (await repo.get(j.jobId))!;
    await new Promise((r) => setTimeout(r, 2)); // a later updatedAt
    const retried = await repo.retry(j.jobId);
    expect(retried).toMatchObject({
      job: { status: 'QUEUED', attempts: 0, history: [{ attempts: 3, error: err }] },
      previous: { status: 'FAILED' },
    });
    const now = await repo.get(j.jobId);
    expect(now).toMatchObject({ status: 'QUEUED', attempts: 0 });
    expect(now).not.toHaveProperty('error');
    const { job: r, previous } = retried as { job: Job; previous: Job };
    await repo.undoRetry(r, previous);
    expect(await repo.get(j.jobId)).toMatchObject({
      status: 'FAILED',
      attempts: 3,
      error: err,
      updatedAt: failed.updatedAt,
    });
  });

  test('an idempotency key is claimed once; released, it can be claimed again', async () => {
    const repo = make();
    const key = `key-${++seq}`;
    expect(await repo.claimIdempotencyKey(key, 'h1', 'job-a')).toEqual({ claimed: true });
    expect(await repo.claimIdempotencyKey(key, 'h2', 'job-b')).toEqual({
      claimed: false,
      jobId: 'job-a',
      requestHash: 'h1',
    });
    await repo.releaseIdempotencyKey(key);
    expect(await repo.claimIdempotencyKey(key, 'h2', 'job-b')).toEqual({ claimed: true });
  });

  test('listing: newest first by connector or status, in pages', async () => {
    const repo = make();
    const connectorId = `list-${++seq}`;
    const made: Job[] = [];
    for (let i = 0; i < 3; i += 1) {
      const j = job(connectorId, new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString());
      made.push(j);
      await repo.create(j);
    }
    const first = await repo.list({ connectorId, limit: 2 });
    expect(first.jobs.map((j) => j.jobId)).toEqual([made[2]!.jobId, made[1]!.jobId]);
    expect(first.nextKey).toBeDefined();
    const second = await repo.list({ connectorId, limit: 2, startKey: first.nextKey });
    expect(second.jobs.map((j) => j.jobId)).toEqual([made[0]!.jobId]);
    expect(second.nextKey).toBeUndefined();
    await repo.fail(made[1]!.jobId, 1, err);
    expect((await repo.list({ connectorId, status: 'FAILED', limit: 10 })).jobs.map((j) => j.jobId)).toEqual([
      made[1]!.jobId,
    ]);
  });
});
