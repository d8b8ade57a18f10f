import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CalloutService } from '../../lambdas/domain/callout-service';
import type { Job, JobError } from '../../lambdas/domain/job';
import type { JobQueuePort } from '../../lambdas/domain/job-queue';
import { JobStore } from '../../lambdas/adapters/job-store';
import { calloutRoutes } from '../../lambdas/routes/callout-routes';
import { Router } from '../../lambdas/routes/router';
import { errorResponse } from '../../lambdas/shared/responses';
import { startDynamo } from '../support/dynamo';
import { apiEvent } from '../support/events';
import { queuedJob } from '../support/jobs';

/** GET /v1/jobs and POST /v1/jobs/{id}/retry: the real routes, service and JobStore on dynalite (the tables as the local hub creates them). */
let dynamo: Awaited<ReturnType<typeof startDynamo>>;
let store: JobStore;
let clock = Date.parse('2026-01-01T00:00:00Z');
const enqueued: string[] = [];
let queueDown = false;
const queue = {
  async enqueue(jobId: string) {
    if (queueDown) throw new Error('queue down');
    enqueued.push(jobId);
  },
} as unknown as JobQueuePort;
let router: Router;
const silent = { error: () => undefined };

async function call(method: string, path: string, query?: Record<string, string>) {
  try {
    const res = await router.handle(apiEvent({ method, path, query }));
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  } catch (err) {
    const res = errorResponse(err, silent);
    return { status: res.statusCode, body: JSON.parse(res.body) };
  }
}

let seq = 0;
/** A job created now (each one a second after the previous: newest first is checkable). */
async function createJob(connectorId: string, extra: Partial<Job> = {}): Promise<string> {
  clock += 1000;
  seq += 1;
  const jobId = `job-${String(seq).padStart(3, '0')}`;
  const at = new Date(clock).toISOString();
  await store.create(queuedJob({ jobId, connectorId, createdAt: at, payload: { n: seq }, ...extra }));
  return jobId;
}

const boom: JobError = { code: 'UPSTREAM_ERROR', message: 'HTTP 500', retryable: true, statusCode: 500 };

async function failJob(jobId: string, attempts = 3) {
  await store.startRun(jobId, new Date(Date.now() + 60_000));
  await store.fail(jobId, attempts, boom);
}

beforeAll(async () => {
  dynamo = await startDynamo();
  store = new JobStore(dynamo.client, dynamo.tables.jobs, 30, () => clock);
  router = new Router(
    calloutRoutes(
      new CalloutService({ connectors: { get: async () => undefined }, jobs: store, queue, logger: silent }),
    ),
  );
});

afterAll(async () => {
  await dynamo?.stop();
});

describe('GET /v1/jobs', () => {
  test("lists a connector's jobs newest first, in pages, with nextToken until the end", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(await createJob('list-a'));
    await createJob('list-b');
    const first = await call('GET', '/v1/jobs', { connectorId: 'list-a', limit: '2' });
    expect(first.status).toBe(200);
    expect(first.body.jobs.map((j: Job) => j.jobId)).toEqual([ids[4], ids[3]]);
    expect(first.body.jobs[0]).toMatchObject({ connectorId: 'list-a', operation: 'op', status: 'QUEUED', attempts: 0 });
    expect(first.body.jobs[0]).not.toHaveProperty('payload');
    const second = await call('GET', '/v1/jobs', {
      connectorId: 'list-a',
      limit: '2',
      nextToken: first.body.nextToken,
    });
    expect(second.body.jobs.map((j: Job) => j.jobId)).toEqual([ids[2], ids[1]]);
    const third = await call('GET', '/v1/jobs', {
      connectorId: 'list-a',
      limit: '2',
      nextToken: second.body.nextToken,
    });
    expect(third.body.jobs.map((j: Job) => j.jobId)).toEqual([ids[0]]);
    expect(third.body.nextToken).toBeUndefined();
  });

  test('filters by status, and by connector and status, following status changes', async () => {
    const a1 = await createJob('filter-a');
    const a2 = await createJob('filter-a');
    const a3 = await createJob('filter-a');
    const b1 = await createJob('filter-b');
    await failJob(a1);
    await failJob(b1);
    await store.startRun(a2, new Date(Date.now() + 60_000));

    const failedA = await call('GET', '/v1/jobs', { connectorId: 'filter-a', status: 'FAILED' });
    expect(failedA.body.jobs.map((j: Job) => j.jobId)).toEqual([a1]);
    expect(failedA.body.jobs[0]).toMatchObject({ status: 'FAILED', attempts: 3, error: boom });
    const running = await call('GET', '/v1/jobs', { status: 'RUNNING' });
    expect(running.body.jobs.map((j: Job) => j.jobId)).toContain(a2);
    expect(running.body.jobs.map((j: Job) => j.jobId)).not.toContain(a3);
    const failed = await call('GET', '/v1/jobs', { status: 'FAILED' });
    expect(failed.body.jobs.map((j: Job) => j.jobId).slice(0, 2)).toEqual([b1, a1]);

    // A status change moves the job between listings.
    await store.succeed(a2, 1, { statusCode: 200, data: { ok: true } });
    expect((await call('GET', '/v1/jobs', { status: 'RUNNING' })).body.jobs.map((j: Job) => j.jobId)).not.toContain(a2);
    expect(
      (await call('GET', '/v1/jobs', { connectorId: 'filter-a', status: 'SUCCEEDED' })).body.jobs.map(
        (j: Job) => j.jobId,
      ),
    ).toEqual([a2]);
    expect(
      (await call('GET', '/v1/jobs', { connectorId: 'filter-a', status: 'QUEUED' })).body.jobs.map((j: Job) => j.jobId),
    ).toEqual([a3]);
  });

  test('a filtered page is filled past non-matching jobs and pages on correctly', async () => {
    const failedIds: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      const id = await createJob('sparse');
      if (i % 3 === 0) {
        await failJob(id);
        failedIds.unshift(id);
      }
    }
    const first = await call('GET', '/v1/jobs', { connectorId: 'sparse', status: 'FAILED', limit: '1' });
    expect(first.body.jobs.map((j: Job) => j.jobId)).toEqual([failedIds[0]]);
    const second = await call('GET', '/v1/jobs', {
      connectorId: 'sparse',
      status: 'FAILED',
      limit: '1',
      nextToken: first.body.nextToken,
    });
    expect(second.body.jobs.map((j: Job) => j.jobId)).toEqual([failedIds[1]]);
  });

  test('idempotency-key items and other non-job items are never listed', async () => {
    await store.claimIdempotencyKey('k-1', 'hash', 'job-idem');
    // Another item in the table with the attributes the indexes are keyed by, but not a job.
    await dynamo.client.send(
      new PutItemCommand({
        TableName: dynamo.tables.jobs,
        Item: { pk: { S: 'LIMIT#idx-only' }, connectorId: { S: 'idx-only' }, status: { S: 'FAILED' } },
      }),
    );
    expect((await call('GET', '/v1/jobs', { connectorId: 'idx-only' })).body).toEqual({ jobs: [] });
    const failed = await call('GET', '/v1/jobs', { status: 'FAILED', limit: '100' });
    expect(failed.body.jobs.every((j: Job) => j.jobId.startsWith('job-'))).toBe(true);
  });

  test('400 INVALID_REQUEST without connectorId and status, for a bad status or limit, and for a foreign nextToken', async () => {
    const queries: Record<string, string>[] = [
      {},
      { limit: '5' },
      { status: 'DONE' },
      { connectorId: 'list-a', limit: '0' },
      { connectorId: 'list-a', limit: '101' },
      { connectorId: 'list-a', other: 'x' },
    ];
    for (const query of queries) {
      const res = await call('GET', '/v1/jobs', query);
      expect([query, res.status, res.body.error.code]).toEqual([query, 400, 'INVALID_REQUEST']);
    }
    const page = await call('GET', '/v1/jobs', { connectorId: 'list-a', limit: '1' });
    const token = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const key = JSON.parse(Buffer.from(page.body.nextToken, 'base64url').toString());
    for (const nextToken of [
      '%%%',
      'bm90IGpzb24',
      token({ ...key, connectorId: 'list-b' }),
      token({ ...key, extra: 'x' }),
      token({ ...key, pk: 'IDEMPOTENCY#k-1' }),
      token({ ...key, jobCreatedAt: '\ud800' }),
      token([1]),
    ]) {
      const res = await call('GET', '/v1/jobs', { connectorId: 'list-a', nextToken });
      expect([nextToken, res.status, res.body.error.code]).toEqual([nextToken, 400, 'INVALID_REQUEST']);
    }
    // A byConnector key is no key of a status listing.
    expect((await call('GET', '/v1/jobs', { status: 'QUEUED', nextToken: page.body.nextToken })).status).toBe(400);
  });
});

describe('POST /v1/jobs/{id}/retry', () => {
  test('a FAILED job is queued again with a fresh attempt budget and its earlier run in history', async () => {
    const jobId = await createJob('retry-a');
    await failJob(jobId, 3);
    const failedAt = (await store.get(jobId))!.updatedAt;
    enqueued.length = 0;
    const res = await call('POST', `/v1/jobs/${jobId}/retry`);
    expect(res).toEqual({ status: 202, body: { jobId, status: 'QUEUED', statusUrl: `/v1/jobs/${jobId}` } });
    expect(enqueued).toEqual([jobId]);
    const view = (await call('GET', `/v1/jobs/${jobId}`)).body;
    expect(view).toMatchObject({
      status: 'QUEUED',
      attempts: 0,
      history: [{ attempts: 3, error: boom, endedAt: failedAt }],
    });
    expect(view).not.toHaveProperty('error');
    // The runner picks it up as a queued job, counting attempts from 0 again.
    const run = await store.startRun(jobId, new Date(Date.now() + 60_000));
    expect(run).toMatchObject({ job: { status: 'RUNNING', attempts: 0, payload: expect.anything() } });
    await store.fail(jobId, 2, { ...boom, code: 'SECOND' });
    expect((await call('POST', `/v1/jobs/${jobId}/retry`)).status).toBe(202);
    const again = (await call('GET', `/v1/jobs/${jobId}`)).body;
    expect(again.history.map((h: { attempts: number; error: JobError }) => [h.attempts, h.error.code])).toEqual([
      [3, 'UPSTREAM_ERROR'],
      [2, 'SECOND'],
    ]);
    // The listing follows: no longer FAILED.
    expect((await call('GET', '/v1/jobs', { connectorId: 'retry-a', status: 'FAILED' })).body.jobs).toEqual([]);
  });

  test('the history is bounded', async () => {
    const jobId = await createJob('retry-bounded');
    for (let i = 0; i < 13; i += 1) {
      await failJob(jobId, i + 1);
      expect((await call('POST', `/v1/jobs/${jobId}/retry`)).status).toBe(202);
    }
    const view = (await call('GET', `/v1/jobs/${jobId}`)).body;
    expect(view.history).toHaveLength(10);
    expect(view.history.map((h: { attempts: number }) => h.attempts)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  });

  test('a stale result, delivery and the lease fields are gone after a retry', async () => {
    const jobId = await createJob('retry-clean');
    await store.startRun(jobId, new Date(Date.now() + 60_000));
    await store.fail(jobId, 1, boom, { status: 'PENDING', attempts: 0 });
    // Its failure is still being delivered: not now.
    const pending = await call('POST', `/v1/jobs/${jobId}/retry`);
    expect([pending.status, pending.body.error.code]).toEqual([409, 'JOB_NOT_RETRYABLE']);
    await store.setDelivery(jobId, { status: 'DELIVERED', attempts: 1, deliveredAt: new Date().toISOString() });
    expect((await call('POST', `/v1/jobs/${jobId}/retry`)).status).toBe(202);
    const { Item } = await dynamo.client.send(
      new GetItemCommand({ TableName: dynamo.tables.jobs, Key: { pk: { S: `JOB#${jobId}` } }, ConsistentRead: true }),
    );
    for (const gone of ['error', 'result', 'resultRef', 'delivery', 'leaseUntil', 'callStartedAt', 'nextAttemptAt'])
      expect(Item).not.toHaveProperty(gone);
    expect(Item!.status).toEqual({ S: 'QUEUED' });
  });

  test('409 JOB_NOT_RETRYABLE unless FAILED; 404 JOB_NOT_FOUND for an unknown job', async () => {
    const queued = await createJob('retry-409');
    const running = await createJob('retry-409');
    await store.startRun(running, new Date(Date.now() + 60_000));
    const done = await createJob('retry-409');
    await store.startRun(done, new Date(Date.now() + 60_000));
    await store.succeed(done, 1, { statusCode: 200, data: null });
    for (const jobId of [queued, running, done]) {
      const res = await call('POST', `/v1/jobs/${jobId}/retry`);
      expect([res.status, res.body.error.code]).toEqual([409, 'JOB_NOT_RETRYABLE']);
    }
    const missing = await call('POST', '/v1/jobs/no-such-job/retry');
    expect([missing.status, missing.body.error.code]).toEqual([404, 'JOB_NOT_FOUND']);
  });

  test('two retries at once: one wins, the other is 409', async () => {
    const jobId = await createJob('retry-race');
    await failJob(jobId);
    enqueued.length = 0;
    const results = await Promise.all([
      call('POST', `/v1/jobs/${jobId}/retry`),
      call('POST', `/v1/jobs/${jobId}/retry`),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([202, 409]);
    expect(enqueued).toEqual([jobId]);
  });

  test('when the queue is down the job is FAILED again, as it was, and can be retried later', async () => {
    const jobId = await createJob('retry-queue');
    await failJob(jobId, 4);
    const before = (await call('GET', `/v1/jobs/${jobId}`)).body;
    queueDown = true;
    try {
      const res = await call('POST', `/v1/jobs/${jobId}/retry`);
      expect([res.status, res.body.error.code]).toEqual([503, 'QUEUE_UNAVAILABLE']);
    } finally {
      queueDown = false;
    }
    expect((await call('GET', `/v1/jobs/${jobId}`)).body).toEqual(before);
    expect((await call('POST', `/v1/jobs/${jobId}/retry`)).status).toBe(202);
  });
});
