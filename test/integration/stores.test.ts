import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { CalloutService, requestHash } from '../../lambdas/domain/callout-service';
import { ConnectorStore } from '../../lambdas/adapters/connector-store';
import { JobQueue } from '../../lambdas/adapters/job-queue';
import { ConditionalCheckFailedException, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { JobStore } from '../../lambdas/adapters/job-store';
import { S3JobDataStore } from '../../lambdas/adapters/s3-job-data-store';
import { jobView } from '../../lambdas/domain/job';
import { AppError, InvalidConnectorError, WriteConflictError } from '../../lambdas/shared/errors';
import { startDynamo } from '../support/dynamo';
import { startS3 } from '../support/s3';
import { queuedJob } from '../support/jobs';

/** Domain stores and the callout service against dynalite (DynamoDB over HTTP with the real SDK) and S3 (fauxqs). */
let dynamo: Awaited<ReturnType<typeof startDynamo>>;
let s3: Awaited<ReturnType<typeof startS3>>;
let data: S3JobDataStore;
const row = (id: string, extra: Record<string, unknown> = {}) => ({
  connectorId: id,
  type: 'rest',
  baseUrl: 'http://127.0.0.1:1/api',
  operations: { op: { method: 'POST', path: '/x' } },
  ...extra,
});

beforeAll(async () => {
  [dynamo, s3] = await Promise.all([startDynamo(), startS3()]);
  data = new S3JobDataStore(() => s3.client, await s3.createBucket('job-data'));
});
afterAll(async () => Promise.all([dynamo?.stop(), s3?.stop()]));

describe('ConnectorStore', () => {
  test('concurrent reads of one row share one request; the next read after the TTL reads again', async () => {
    let now = 1_000;
    const store = new ConnectorStore(dynamo.db, dynamo.tables.connectors, 5_000, () => now);
    await dynamo.db.send(new PutCommand({ TableName: dynamo.tables.connectors, Item: row('shared') }));
    const send = jest.spyOn(dynamo.db, 'send');
    try {
      const all = await Promise.all(Array.from({ length: 25 }, () => store.get('shared')));
      expect(all.every((c) => c?.connectorId === 'shared')).toBe(true);
      expect(send).toHaveBeenCalledTimes(1);
      now += 6_000;
      await Promise.all([store.get('shared'), store.get('shared')]);
      expect(send).toHaveBeenCalledTimes(2);
      // A failed read is not shared with later ones.
      (send as jest.SpyInstance).mockRejectedValueOnce(new Error('throttled'));
      now += 6_000;
      await expect(store.get('shared')).rejects.toThrow('throttled');
      await expect(store.get('shared')).resolves.toMatchObject({ connectorId: 'shared' });
    } finally {
      send.mockRestore();
    }
  });

  test('validates rows on read, applies defaults, and caches for the TTL', async () => {
    let now = 1_000;
    const store = new ConnectorStore(dynamo.db, dynamo.tables.connectors, 5_000, () => now);
    await dynamo.db.send(new PutCommand({ TableName: dynamo.tables.connectors, Item: row('cached') }));
    const first = await store.get('cached');
    expect(first).toMatchObject({
      enabled: true,
      timeoutMs: 10_000,
      retry: { maxAttempts: 3, baseDelayMs: 500 },
      auth: { type: 'none' },
    });
    await dynamo.db.send(
      new PutCommand({ TableName: dynamo.tables.connectors, Item: row('cached', { enabled: false }) }),
    );
    expect((await store.get('cached'))!.enabled).toBe(true); // still cached
    now += 5_001;
    expect((await store.get('cached'))!.enabled).toBe(false); // change visible after the TTL
  });

  test('misses are not cached: a connector added after a 404 works at once', async () => {
    const store = new ConnectorStore(dynamo.db, dynamo.tables.connectors, 60_000);
    expect(await store.get('late')).toBeUndefined();
    await dynamo.db.send(new PutCommand({ TableName: dynamo.tables.connectors, Item: row('late') }));
    expect(await store.get('late')).toBeDefined();
  });

  test('a broken row is reported with the field, not passed on', async () => {
    const store = new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0);
    await dynamo.db.send(
      new PutCommand({ TableName: dynamo.tables.connectors, Item: row('broken', { timeoutMs: 'soon' }) }),
    );
    await expect(store.get('broken')).rejects.toThrow(InvalidConnectorError);
    await expect(store.get('broken')).rejects.toThrow(/\$\.timeoutMs/);
  });
});

describe('JobStore', () => {
  const job = (jobId: string) => ({
    jobId,
    connectorId: 'c',
    operation: 'op',
    status: 'QUEUED' as const,
    attempts: 0,
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    payload: { a: 1 },
  });

  test('startRun returns the job as RUNNING under a lease, and refuses a finished or missing one', async () => {
    const store = new JobStore(dynamo.client, dynamo.tables.jobs);
    await store.create(job('j1'));
    const lease = new Date(Date.now() + 60_000);
    const started = await store.startRun('j1', lease);
    expect(started).toEqual({
      job: expect.objectContaining({
        jobId: 'j1',
        status: 'RUNNING',
        payload: { a: 1 },
        leaseUntil: lease.toISOString(),
      }),
    });
    // A second message while the first worker's lease runs (SQS delivers at least once): busy, not run twice.
    expect(await store.startRun('j1', lease)).toEqual({
      busy: expect.objectContaining({ status: 'RUNNING', leaseUntil: lease.toISOString() }),
    });
    await store.succeed('j1', 1, { statusCode: 200, data: 'ok' });
    expect(await store.startRun('j1', lease)).toEqual({ ended: expect.objectContaining({ status: 'SUCCEEDED' }) });
    expect(await store.startRun('missing', lease)).toEqual({ missing: true });
    const ended = await store.get('j1');
    expect(ended).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { statusCode: 200, data: 'ok' } });
    expect(ended).not.toHaveProperty('leaseUntil');
  });

  test('a RUNNING job whose lease has passed (its worker died, maybe mid-call) is interrupted, never run again', async () => {
    const store = new JobStore(dynamo.client, dynamo.tables.jobs);
    await store.create(job('j-lease'));
    const first = await store.startRun('j-lease', new Date(Date.now() - 1000));
    expect(first).toEqual({ job: expect.objectContaining({ status: 'RUNNING', callStartedAt: expect.any(String) }) });
    const again = await store.startRun('j-lease', new Date(Date.now() + 60_000));
    expect(again).toEqual({
      interrupted: expect.objectContaining({
        status: 'RUNNING',
        callStartedAt: (first as { job: { callStartedAt: string } }).job.callStartedAt,
      }),
    });
    const error = { code: 'OUTCOME_NOT_RECORDED', message: 'm', retryable: false };
    expect(await store.failInterrupted((again as { interrupted: any }).interrupted, 1, error)).toBeUndefined();
    // A second message that found the same run interrupted records nothing more.
    expect(await store.failInterrupted((again as { interrupted: any }).interrupted, 1, error)).toBe(false);
    const ended = await store.get('j-lease');
    expect(ended).toMatchObject({ status: 'FAILED', attempts: 1, error });
    expect(ended).not.toHaveProperty('callStartedAt');
    expect(ended).not.toHaveProperty('leaseUntil');
    // A run given back before any call (releaseRun) is not interrupted: it starts again.
    await store.create(job('j-released'));
    await store.startRun('j-released', new Date(Date.now() - 1000));
    await store.releaseRun('j-released');
    expect(await store.startRun('j-released', new Date(Date.now() + 60_000))).toEqual({
      job: expect.objectContaining({ status: 'RUNNING' }),
    });
    // Jobs left RUNNING by a worker from before runs were marked are taken over, as then.
    await store.create({ ...job('j-legacy'), status: 'RUNNING' });
    expect(await store.startRun('j-legacy', new Date(Date.now() + 60_000))).toEqual({
      job: expect.objectContaining({ status: 'RUNNING', leaseUntil: expect.any(String) }),
    });
    await store.create({
      ...job('j-legacy-lease'),
      status: 'RUNNING',
      leaseUntil: new Date(Date.now() - 1000).toISOString(),
    });
    expect(await store.startRun('j-legacy-lease', new Date(Date.now() + 60_000))).toEqual({
      job: expect.objectContaining({ status: 'RUNNING' }),
    });
  });

  describe('claim check: payloads and results over the inline limit live in S3', () => {
    const item = async (jobId: string) =>
      (
        await dynamo.client.send(
          new GetItemCommand({ TableName: dynamo.tables.jobs, Key: { pk: { S: `JOB#${jobId}` } } }),
        )
      ).Item!;

    test('a large payload and result are stored as objects; the item keeps only keys; get() and the job view return them in full', async () => {
      const store = new JobStore(dynamo.client, dynamo.tables.jobs, 30, Date.now, { data });
      const payload = { text: 'p'.repeat(300 * 1024), n: 1 };
      await store.create({ ...job('cc-1'), payload });
      expect(await item('cc-1')).not.toHaveProperty('payload');
      expect((await item('cc-1')).payloadRef).toEqual({ S: 'payloads/cc-1.json' });
      const started = await store.startRun('cc-1', new Date(Date.now() + 60_000));
      expect((started as { job: { payload: unknown } }).job.payload).toEqual(payload);

      const result = {
        statusCode: 200,
        data: { rows: Array.from({ length: 5_000 }, (_, i) => ({ i, name: `row ${i}` })) },
      };
      const ended = await store.succeed('cc-1', 1, result, { status: 'PENDING', attempts: 0 });
      expect(ended).toMatchObject({ status: 'SUCCEEDED', result });
      expect(ended).not.toHaveProperty('resultRef');
      const stored = await item('cc-1');
      expect(stored).not.toHaveProperty('result');
      expect(stored.resultRef).toEqual({ S: 'results/cc-1.json' });
      const object = await s3.client.send(new GetObjectCommand({ Bucket: 'job-data', Key: 'results/cc-1.json' }));
      expect(JSON.parse(await object.Body!.transformToString())).toEqual(result);

      const read = await store.get('cc-1');
      expect(read).toMatchObject({ status: 'SUCCEEDED', payload, result });
      const view = jobView(read!);
      expect(view.result).toEqual(result);
      expect(JSON.stringify(view)).not.toMatch(/Ref|payloads\/|results\//);
      // A redelivered message for it with its delivery still owed gets the result back.
      const again = await store.startRun('cc-1', new Date(Date.now() + 60_000));
      expect((again as { ended: { result: unknown } }).ended.result).toEqual(result);
    });

    test('a payload that cannot be read back gives the run back (nothing was called)', async () => {
      let down = true;
      const flaky = {
        put: (k: string, b: string) => data.put(k, b),
        get: async (k: string) => (down ? Promise.reject(new Error('S3 unavailable')) : data.get(k)),
      };
      const store = new JobStore(dynamo.client, dynamo.tables.jobs, 30, Date.now, { data: flaky });
      await store.create({ ...job('cc-3'), payload: { s: 'x'.repeat(100 * 1024) } });
      await expect(store.startRun('cc-3', new Date(Date.now() - 1000))).rejects.toThrow(/S3 unavailable/);
      const released = await store.get('cc-3', { payload: false, result: false });
      expect(released).toMatchObject({ status: 'QUEUED' });
      expect(released).not.toHaveProperty('callStartedAt');
      down = false;
      expect(await store.startRun('cc-3', new Date(Date.now() + 60_000))).toEqual({
        job: expect.objectContaining({ status: 'RUNNING', payload: { s: 'x'.repeat(100 * 1024) } }),
      });
    });

    test('values within the limit stay in the item, and nothing is put in the bucket', async () => {
      const store = new JobStore(dynamo.client, dynamo.tables.jobs, 30, Date.now, { data, inlineMaxBytes: 1024 });
      await store.create({ ...job('cc-2'), payload: { s: 'x'.repeat(900) } });
      await store.succeed('cc-2', 1, { statusCode: 200, data: 'y'.repeat(900) });
      const stored = await item('cc-2');
      expect(stored.payload).toBeDefined();
      expect(stored.result).toBeDefined();
      expect(stored).not.toHaveProperty('payloadRef');
      expect(stored).not.toHaveProperty('resultRef');
      await expect(
        s3.client.send(new GetObjectCommand({ Bucket: 'job-data', Key: 'payloads/cc-2.json' })),
      ).rejects.toThrow();
    });
  });

  test('results with integers beyond 2^53 (as upstream JSON may carry) are stored and read back', async () => {
    const store = new JobStore(dynamo.client, dynamo.tables.jobs);
    // eslint-disable-next-line no-loss-of-precision -- 2^53 + 1 on purpose: it arrives as 2^53, as JSON.parse reads it
    await store.create({ ...job('big'), payload: { id: 9007199254740993 } });
    await store.succeed('big', 1, { statusCode: 200, data: { message_token: 5098034272017990000, ratio: 0.25 } });
    expect(await store.get('big')).toMatchObject({
      payload: { id: 9007199254740992 },
      result: { data: { message_token: 5098034272017990000, ratio: 0.25 } },
    });
  });

  test('a job cannot be created twice', async () => {
    const store = new JobStore(dynamo.client, dynamo.tables.jobs);
    await store.create(job('j2'));
    await expect(store.create(job('j2'))).rejects.toThrow();
  });

  test('a failed write condition reaches the domain as WriteConflictError, with the DynamoDB exception as its cause', async () => {
    const store = new JobStore(dynamo.client, dynamo.tables.jobs);
    await store.create(job('j-conflict'));
    const err = await store.create(job('j-conflict')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WriteConflictError);
    expect((err as Error).cause).toBeInstanceOf(ConditionalCheckFailedException);
    await expect(store.setDelivery('j-missing', { status: 'PENDING', attempts: 0 })).rejects.toBeInstanceOf(
      WriteConflictError,
    );
  });

  test('only one of concurrent claims of an idempotency key wins', async () => {
    const store = new JobStore(dynamo.client, dynamo.tables.jobs);
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.claimIdempotencyKey('k-race', 'h', `job-${i}`)),
    );
    const winners = claims.filter((c) => c.claimed);
    expect(winners).toHaveLength(1);
    const losers = claims.filter((c): c is { claimed: false; jobId: string; requestHash: string } => !c.claimed);
    expect(new Set(losers.map((l) => l.jobId)).size).toBe(1);
  });

  test('records a deferred retry, then clears the wait when finished', async () => {
    const store = new JobStore(dynamo.client, dynamo.tables.jobs);
    await store.create(job('j3'));
    await store.recordDeferredRetry(
      'j3',
      1,
      { code: 'UPSTREAM_HTTP_ERROR', message: '429', retryable: true, statusCode: 429 },
      new Date(Date.now() + 60_000),
    );
    expect(await store.get('j3')).toMatchObject({
      status: 'QUEUED',
      attempts: 1,
      error: { statusCode: 429 },
      nextAttemptAt: expect.any(String),
    });
    await store.succeed('j3', 2, { statusCode: 200, data: null });
    const done = await store.get('j3');
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    expect(done!.error).toBeUndefined();
    expect(done!.nextAttemptAt).toBeUndefined();
  });
});

describe('CalloutService', () => {
  const logger = { error: jest.fn() };

  test('a queue outage closes the job as FAILED (still findable) and frees the key', async () => {
    const sqsMock = mockClient(SQSClient);
    sqsMock.on(SendMessageCommand).rejects(new Error('connect ECONNREFUSED'));
    const connectors = new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0);
    await connectors.put((await import('../../lambdas/connectors/schema')).connectorSchema.parse(row('svc')));
    const jobs = new JobStore(dynamo.client, dynamo.tables.jobs);
    const ids = ['job-a', 'job-b'];
    const service = new CalloutService({
      connectors,
      jobs,
      queue: new JobQueue(new SQSClient({ region: 'us-east-1' }), 'http://q'),
      logger,
      newId: () => ids.shift()!,
    });
    const attempt = service.submit({ connectorId: 'svc', operation: 'op', payload: {}, idempotencyKey: 'k-outage' });
    await expect(attempt).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE', httpStatus: 503 });
    expect(await jobs.get('job-a')).toMatchObject({
      status: 'FAILED',
      error: { code: 'QUEUE_UNAVAILABLE', retryable: true },
    });
    // The caller retries with the same key once the queue is back: a new job is created.
    sqsMock.reset();
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm' });
    const ok = await service.submit({ connectorId: 'svc', operation: 'op', payload: {}, idempotencyKey: 'k-outage' });
    expect(ok).toMatchObject({ jobId: 'job-b', created: true });
    sqsMock.restore();
  });

  describe('a resubmission finishes what a controller that died half way left undone', () => {
    const input = (key: string) => ({
      connectorId: 'svc-replay',
      operation: 'op',
      payload: { n: 1 },
      idempotencyKey: key,
    });
    let sqsMock: ReturnType<typeof mockClient>;
    let jobs: JobStore;
    let service: CalloutService;
    const sent = () =>
      sqsMock
        .commandCalls(SendMessageCommand)
        .map((c) => JSON.parse(String(c.args[0].input.MessageBody)).jobId as string);

    beforeAll(async () => {
      const connectors = new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0);
      await connectors.put((await import('../../lambdas/connectors/schema')).connectorSchema.parse(row('svc-replay')));
      jobs = new JobStore(dynamo.client, dynamo.tables.jobs);
      service = new CalloutService({
        connectors,
        jobs,
        queue: new JobQueue(new SQSClient({ region: 'us-east-1' }), 'http://q'),
        logger,
        newId: () => `fresh-${Math.random()}`,
      });
    });
    beforeEach(() => {
      sqsMock = mockClient(SQSClient);
      sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm' });
    });
    afterEach(() => sqsMock.restore());

    test('died after claiming the key: the job is created under the claimed id and queued', async () => {
      await jobs.claimIdempotencyKey('k-died-1', requestHash(input('k-died-1')), 'job-died-1');
      const replay = await service.submit(input('k-died-1'));
      expect(replay).toMatchObject({ jobId: 'job-died-1', status: 'QUEUED' });
      expect(await jobs.get('job-died-1')).toMatchObject({
        status: 'QUEUED',
        connectorId: 'svc-replay',
        payload: { n: 1 },
      });
      expect(sent()).toEqual(['job-died-1']);
    });

    test('died after writing the job: the job is queued', async () => {
      await jobs.claimIdempotencyKey('k-died-2', requestHash(input('k-died-2')), 'job-died-2');
      await jobs.create(queuedJob({ jobId: 'job-died-2', connectorId: 'svc-replay', payload: { n: 1 } }));
      expect(await service.submit(input('k-died-2'))).toMatchObject({ jobId: 'job-died-2', created: false });
      expect(sent()).toEqual(['job-died-2']);
    });

    test('a job that runs, ran, or waits for a deferred retry is not queued again', async () => {
      const first = await service.submit(input('k-alive'));
      expect(sent()).toEqual([first.jobId]);
      await jobs.startRun(first.jobId, new Date(Date.now() + 60_000));
      await service.submit(input('k-alive'));
      await jobs.recordDeferredRetry(
        first.jobId,
        1,
        { code: 'UPSTREAM_HTTP_ERROR', message: '503', retryable: true },
        new Date(Date.now() + 30_000),
      );
      await service.submit(input('k-alive'));
      await jobs.succeed(first.jobId, 2, { statusCode: 200, data: 'ok' });
      await service.submit(input('k-alive'));
      expect(sent()).toEqual([first.jobId]);
    });
  });

  test('a payload over 5 MB is refused with 413 PAYLOAD_TOO_LARGE; a large one is kept in S3, and GET reads back only the result', async () => {
    const connectors = new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0);
    await connectors.put((await import('../../lambdas/connectors/schema')).connectorSchema.parse(row('svc-big')));
    const reads: string[] = [];
    const counting = {
      put: (k: string, b: string) => data.put(k, b),
      get: (k: string) => (reads.push(k), data.get(k)),
    };
    const jobs = new JobStore(dynamo.client, dynamo.tables.jobs, 30, Date.now, { data: counting });
    const sqsMock = mockClient(SQSClient);
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm' });
    const service = new CalloutService({
      connectors,
      jobs,
      queue: new JobQueue(new SQSClient({ region: 'us-east-1' }), 'http://q'),
      logger,
      newId: () => 'job-big',
    });
    try {
      await expect(
        service.submit({ connectorId: 'svc-big', operation: 'op', payload: 'x'.repeat(5 * 1024 * 1024 - 1) }),
      ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 });
      expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
      const payload = { text: 'x'.repeat(2 * 1024 * 1024) };
      await service.submit({ connectorId: 'svc-big', operation: 'op', payload });
      expect(await jobs.get('job-big')).toMatchObject({ payload });
      await jobs.succeed('job-big', 1, { statusCode: 200, data: 'y'.repeat(100 * 1024) });
      reads.length = 0;
      const view = await service.getJob('job-big');
      expect(view.result).toEqual({ statusCode: 200, data: 'y'.repeat(100 * 1024) });
      expect(reads).toEqual(['results/job-big.json']); // the controller may not read payloads back
    } finally {
      sqsMock.restore();
    }
  });

  test('request hash ignores key order but not values', () => {
    const base = { connectorId: 'c', operation: 'o' };
    expect(requestHash({ ...base, payload: { a: 1, b: [1, { c: 2, d: 3 }] } })).toBe(
      requestHash({ ...base, payload: { b: [1, { d: 3, c: 2 }], a: 1 } }),
    );
    expect(requestHash({ ...base, payload: { a: 1 } })).not.toBe(requestHash({ ...base, payload: { a: 2 } }));
    expect(requestHash({ ...base, payload: {}, recordId: 'r1' })).not.toBe(
      requestHash({ ...base, payload: {}, recordId: 'r2' }),
    );
  });

  test('errors are AppErrors with stable codes', async () => {
    const service = new CalloutService({
      connectors: new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0),
      jobs: new JobStore(dynamo.client, dynamo.tables.jobs),
      queue: new JobQueue(new SQSClient({ region: 'us-east-1' }), 'http://q'),
      logger,
    });
    await expect(service.submit({ connectorId: 'none', operation: 'op', payload: {} })).rejects.toBeInstanceOf(
      AppError,
    );
    await expect(service.getJob('none')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND', httpStatus: 404 });
  });
});
