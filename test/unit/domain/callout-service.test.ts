import { CalloutService, requestHash } from '../../../lambdas/domain/callout-service';
import { AppError } from '../../../lambdas/shared/errors';
import { MemoryConnectorSource, MemoryJobQueue, MemoryJobRepository } from '../../support/memory-ports';

/** The controller's domain service on in-memory ports: no emulator, the real service. */
const connector = (extra: Record<string, unknown> = {}) => ({
  connectorId: 'crm',
  type: 'rest',
  baseUrl: 'https://api.example.com',
  operations: { create: { method: 'POST', path: '/things' } },
  ...extra,
});

function setup(rows = [connector()]) {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  let ids = 0;
  const jobs = new MemoryJobRepository(() => clock);
  const queue = new MemoryJobQueue();
  const logger = { error: jest.fn() };
  const service = new CalloutService({
    connectors: new MemoryConnectorSource(rows),
    jobs,
    queue,
    logger,
    now: () => clock,
    newId: () => `job-${++ids}`,
  });
  return { service, jobs, queue, logger, tick: (ms: number) => (clock += ms) };
}

/** The error's class name, code and HTTP status: what the caller's envelope is made of. */
async function rejection(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  const { name, code, httpStatus } = err as AppError;
  return { name, code, httpStatus };
}

test('a callout is recorded QUEUED and its id (only) is queued', async () => {
  const t = setup();
  const out = await t.service.submit({
    connectorId: 'crm',
    operation: 'create',
    payload: { a: 1 },
    recordId: '001000000000001AAA',
    correlationId: 'c-1',
  });
  expect(out).toEqual({ jobId: 'job-1', status: 'QUEUED', statusUrl: '/v1/jobs/job-1', created: true });
  expect(t.queue.sent).toEqual([{ kind: 'job', jobId: 'job-1' }]);
  expect(t.jobs.jobs.get('job-1')).toMatchObject({
    status: 'QUEUED',
    attempts: 0,
    payload: { a: 1 },
    recordId: '001000000000001AAA',
    correlationId: 'c-1',
    traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
  });
});

test("the caller's traceparent is kept; an invalid one is replaced by a new trace", async () => {
  const t = setup();
  const given = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  await t.service.submit({ connectorId: 'crm', operation: 'create', payload: {}, traceparent: ` ${given} ` });
  await t.service.submit({ connectorId: 'crm', operation: 'create', payload: {}, traceparent: 'nonsense' });
  expect(t.jobs.jobs.get('job-1')!.traceparent).toBe(given);
  expect(t.jobs.jobs.get('job-2')!.traceparent).not.toBe('nonsense');
});

test('unknown connector or operation, a disabled connector and a payload over 5 MB are refused with their codes, and nothing is recorded', async () => {
  const t = setup([connector(), connector({ connectorId: 'off', enabled: false })]);
  expect(await rejection(t.service.submit({ connectorId: 'nope', operation: 'create', payload: {} }))).toEqual({
    name: 'NotFoundError',
    code: 'CONNECTOR_NOT_FOUND',
    httpStatus: 404,
  });
  expect(await rejection(t.service.submit({ connectorId: 'crm', operation: 'toString', payload: {} }))).toEqual({
    name: 'NotFoundError',
    code: 'OPERATION_NOT_FOUND',
    httpStatus: 404,
  });
  expect(await rejection(t.service.submit({ connectorId: 'off', operation: 'create', payload: {} }))).toEqual({
    name: 'ConflictError',
    code: 'CONNECTOR_DISABLED',
    httpStatus: 409,
  });
  const big = { s: 'x'.repeat(5 * 1024 * 1024) };
  expect(await rejection(t.service.submit({ connectorId: 'crm', operation: 'create', payload: big }))).toEqual({
    name: 'PayloadTooLargeError',
    code: 'PAYLOAD_TOO_LARGE',
    httpStatus: 413,
  });
  expect(t.jobs.jobs.size).toBe(0);
  expect(t.queue.sent).toEqual([]);
});

test('an idempotent resubmission returns the first job; the same key for another request is refused', async () => {
  const t = setup();
  const first = await t.service.submit({
    connectorId: 'crm',
    operation: 'create',
    payload: { a: 1, b: 2 },
    idempotencyKey: 'k1',
  });
  // Same body, keys in another order: the same request.
  const again = await t.service.submit({
    connectorId: 'crm',
    operation: 'create',
    payload: { b: 2, a: 1 },
    idempotencyKey: 'k1',
  });
  expect(again).toEqual({ ...first, created: false });
  expect(t.jobs.jobs.size).toBe(1);
  expect(
    await rejection(
      t.service.submit({ connectorId: 'crm', operation: 'create', payload: { a: 2 }, idempotencyKey: 'k1' }),
    ),
  ).toEqual({ name: 'ConflictError', code: 'IDEMPOTENCY_KEY_REUSED', httpStatus: 409 });
});

test('a resubmission finishes a first request that stopped after claiming its key: the job is created and queued once', async () => {
  const t = setup();
  const input = { connectorId: 'crm', operation: 'create', payload: {}, idempotencyKey: 'k1' };
  await t.jobs.claimIdempotencyKey('k1', requestHash(input), 'job-first');
  const out = await t.service.submit(input);
  expect(out).toEqual({ jobId: 'job-first', status: 'QUEUED', statusUrl: '/v1/jobs/job-first', created: false });
  expect(t.jobs.jobs.get('job-first')).toMatchObject({ status: 'QUEUED' });
  expect(t.queue.sent).toEqual([{ kind: 'job', jobId: 'job-first' }]);
});

test("a resubmission that loses the race to create the job (the store's WriteConflictError) leaves it to the one that won", async () => {
  const t = setup();
  const first = await t.service.submit({ connectorId: 'crm', operation: 'create', payload: {}, idempotencyKey: 'k1' });
  // The resubmission reads the job before the first request wrote it, then finds it created when it writes.
  t.jobs.get = async () => undefined;
  const again = await t.service.submit({ connectorId: 'crm', operation: 'create', payload: {}, idempotencyKey: 'k1' });
  expect(again).toEqual({ ...first, created: false });
  expect(t.queue.sent).toHaveLength(1);
  expect(t.jobs.keys.has('k1')).toBe(true); // the key still points at the job
});

test("a queue that is down: 503 QUEUE_UNAVAILABLE, the job is closed FAILED and the key freed for the caller's retry", async () => {
  const t = setup();
  t.queue.failing = new Error('SQS unavailable');
  expect(
    await rejection(t.service.submit({ connectorId: 'crm', operation: 'create', payload: {}, idempotencyKey: 'k1' })),
  ).toEqual({ name: 'ServiceUnavailableError', code: 'QUEUE_UNAVAILABLE', httpStatus: 503 });
  expect(t.jobs.jobs.get('job-1')).toMatchObject({
    status: 'FAILED',
    error: { code: 'QUEUE_UNAVAILABLE', retryable: true },
  });
  expect(t.jobs.keys.has('k1')).toBe(false);
  t.queue.failing = undefined;
  expect(
    await t.service.submit({ connectorId: 'crm', operation: 'create', payload: {}, idempotencyKey: 'k1' }),
  ).toMatchObject({ jobId: 'job-2', created: true });
});

test('a failed job is retried as the same job with a fresh attempt budget; others are refused', async () => {
  const t = setup();
  await t.service.submit({ connectorId: 'crm', operation: 'create', payload: {} });
  expect(await rejection(t.service.retryJob('job-1'))).toEqual({
    name: 'ConflictError',
    code: 'JOB_NOT_RETRYABLE',
    httpStatus: 409,
  });
  await t.jobs.fail('job-1', 3, { code: 'UPSTREAM_HTTP_ERROR', message: 'boom', retryable: true, statusCode: 500 });
  t.tick(1000);
  expect(await t.service.retryJob('job-1')).toEqual({
    jobId: 'job-1',
    status: 'QUEUED',
    statusUrl: '/v1/jobs/job-1',
    created: false,
  });
  const view = await t.service.getJob('job-1');
  expect(view).toMatchObject({
    status: 'QUEUED',
    attempts: 0,
    history: [{ attempts: 3, error: { code: 'UPSTREAM_HTTP_ERROR' } }],
  });
  expect(view).not.toHaveProperty('error');
  expect(t.queue.sent.filter((m) => m.kind === 'job')).toHaveLength(2);
  expect(await rejection(t.service.retryJob('nope'))).toEqual({
    name: 'NotFoundError',
    code: 'JOB_NOT_FOUND',
    httpStatus: 404,
  });
});

test('a retry whose message cannot be queued puts the job back to FAILED as it was', async () => {
  const t = setup();
  await t.service.submit({ connectorId: 'crm', operation: 'create', payload: {} });
  await t.jobs.fail('job-1', 2, { code: 'UPSTREAM_TIMEOUT', message: 'slow', retryable: true });
  const before = structuredClone(t.jobs.jobs.get('job-1'));
  t.tick(1000);
  t.queue.failing = new Error('SQS unavailable');
  expect(await rejection(t.service.retryJob('job-1'))).toMatchObject({ code: 'QUEUE_UNAVAILABLE', httpStatus: 503 });
  expect(t.jobs.jobs.get('job-1')).toMatchObject({
    status: 'FAILED',
    attempts: 2,
    error: before!.error,
    updatedAt: before!.updatedAt,
  });
});

test('listing needs a connector or a status, and refuses a page token it did not make', async () => {
  const t = setup();
  for (let i = 0; i < 3; i += 1) {
    await t.service.submit({ connectorId: 'crm', operation: 'create', payload: { i } });
    t.tick(1000);
  }
  expect(await rejection(t.service.listJobs({ limit: 10 }))).toMatchObject({
    code: 'INVALID_REQUEST',
    httpStatus: 400,
  });
  const page1 = await t.service.listJobs({ connectorId: 'crm', limit: 2 });
  expect(page1.jobs.map((j) => j.jobId)).toEqual(['job-3', 'job-2']);
  const page2 = await t.service.listJobs({ connectorId: 'crm', limit: 2, nextToken: page1.nextToken });
  expect(page2.jobs.map((j) => j.jobId)).toEqual(['job-1']);
  expect(page2.nextToken).toBeUndefined();
  // A token of the connector listing is not a token of the status listing.
  expect(await rejection(t.service.listJobs({ status: 'QUEUED', limit: 2, nextToken: page1.nextToken }))).toMatchObject(
    { code: 'INVALID_REQUEST' },
  );
  expect(
    await rejection(t.service.listJobs({ connectorId: 'crm', limit: 2, nextToken: 'not base64 json' })),
  ).toMatchObject({ code: 'INVALID_REQUEST' });
});

test('the job view never shows the payload', async () => {
  const t = setup();
  await t.service.submit({ connectorId: 'crm', operation: 'create', payload: { secret: 'p' } });
  expect(await t.service.getJob('job-1')).not.toHaveProperty('payload');
  expect(await rejection(t.service.getJob('nope'))).toMatchObject({ code: 'JOB_NOT_FOUND', httpStatus: 404 });
});
