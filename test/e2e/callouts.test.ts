import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, type FakeUpstream } from '../../local/fake-upstream';
import { startHubProcess, TEST_API_KEY, type RunningHub } from '../../local/hub-process';
import { procStat } from '../../local/proc';

/** The v1 callout contract, end to end: local hub (real handlers, emulators) -> fake upstream on 127.0.0.1. */
let hub: RunningHub;
let upstream: FakeUpstream;

const connector = (id: string, extra: Record<string, unknown> = {}) => ({
  connectorId: id,
  type: 'rest',
  baseUrl: `${upstream.url}/api`,
  timeoutMs: 2000,
  retry: { maxAttempts: 3, baseDelayMs: 50 },
  operations: {
    createOrder: { method: 'POST', path: '/orders' },
    getOrder: { method: 'GET', path: '/orders/{orderId}' },
  },
  ...extra,
});

async function submit(connectorId: string, operation: string, payload: unknown, headers: Record<string, string> = {}) {
  const res = await hub.api('POST', `/v1/callouts/${connectorId}/${operation}`, { payload }, headers);
  expect(res.status).toBe(202);
  return res.body.jobId as string;
}

beforeAll(async () => {
  upstream = await startFakeUpstream();
  hub = await startHubProcess();
});

afterAll(async () => {
  await hub?.stop();
  await upstream?.close();
});

describe('the README path', () => {
  test('the demo connector `echo` seeded by npm start answers at once', async () => {
    const jobId = await submit('echo', 'echo', { hello: 'world' });
    const job = await hub.waitForJob(jobId);
    expect(job).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 1,
      result: { statusCode: 200, data: { method: 'POST', path: '/echo', body: { hello: 'world' } } },
    });
  });

  test('a connector registered from a file with the CLI is called', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-bridge-row-'));
    const file = join(dir, 'orders.json');
    writeFileSync(file, JSON.stringify({ ...connector('cli-orders'), auth: { type: 'bearer', secret: 'token' } }));
    expect((await hub.cli(['connectors', 'validate', file])).code).toBe(0);
    const put = await hub.cli(['connectors', 'put', file, '--local']);
    expect(put).toMatchObject({ code: 0 });
    expect((await hub.cli(['secrets', 'put', 'cli-orders', 'token', '--local'], 'readme-token\n')).code).toBe(0);
    upstream.route('GET /api/orders/77', (call) => ({
      json: { id: 77, bearer: call.headers.authorization === 'Bearer readme-token' },
    }));
    const job = await hub.waitForJob(await submit('cli-orders', 'getOrder', { orderId: '77' }));
    expect(job.result).toEqual({ statusCode: 200, data: { id: 77, bearer: true } });
    const listed = await hub.cli(['connectors', 'list', '--local']);
    expect(listed.stdout).toMatch(/^cli-orders\trest\tenabled$/m);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the CLI refuses an invalid row with the JSON path and exit code 2, writing nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-bridge-row-'));
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ ...connector('bad-row'), operations: { get: { method: 'FETCH', path: '/x' } } }),
    );
    const put = await hub.cli(['connectors', 'put', file, '--local']);
    expect(put.code).toBe(2);
    expect(put.stderr).toContain('$.operations.get.method');
    expect((await hub.cli(['connectors', 'get', 'bad-row', '--local'])).code).toBe(1);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('accepting callouts', () => {
  test('health needs no key', async () => {
    const res = await fetch(`${hub.state.baseUrl}/v1/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  test('missing or wrong API key is refused and nothing is queued', async () => {
    await hub.putConnector(connector('auth-check'));
    upstream.route('POST /api/orders', { status: 201, json: { id: 1 } });
    const missing = await fetch(`${hub.state.baseUrl}/v1/callouts/auth-check/createOrder`, {
      method: 'POST',
      body: '{"payload":{}}',
    });
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as any).error.code).toBe('UNAUTHORIZED');
    const wrong = await hub.api(
      'POST',
      '/v1/callouts/auth-check/createOrder',
      { payload: {} },
      { 'x-api-key': 'nope' },
    );
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('FORBIDDEN');
    await new Promise((r) => setTimeout(r, 300));
    expect(upstream.calls('POST /api/orders')).toHaveLength(0);
  });

  test('202 with job id, status URL; the job runs and its result is readable', async () => {
    await hub.putConnector(connector('orders'));
    upstream.route('POST /api/orders', (call) => ({ status: 201, json: { id: 'o-1', received: call.json } }));
    const res = await hub.api(
      'POST',
      '/v1/callouts/orders/createOrder',
      { payload: { sku: 'A1', qty: 2 }, recordId: '001xx' },
      { 'X-Correlation-Id': 'corr-1' },
    );
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ jobId: expect.any(String), status: 'QUEUED', statusUrl: `/v1/jobs/${res.body.jobId}` });
    const job = await hub.waitForJob(res.body.jobId);
    expect(job).toMatchObject({
      jobId: res.body.jobId,
      connectorId: 'orders',
      operation: 'createOrder',
      status: 'SUCCEEDED',
      attempts: 1,
      result: { statusCode: 201, data: { id: 'o-1', received: { sku: 'A1', qty: 2 } } },
    });
    expect(Date.parse(job.createdAt)).toBeLessThanOrEqual(Date.parse(job.updatedAt));
    const call = upstream.calls('POST /api/orders').at(-1)!;
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers['x-correlation-id']).toBe('corr-1');
  });

  test('GET fills path fields and sends the rest as the query string', async () => {
    await hub.putConnector(connector('orders-get'));
    upstream.route('GET /api/orders/A%2FB 7', { json: {} });
    upstream.route('GET /api/orders/42', (call) => ({ json: { id: 42, query: call.query } }));
    const jobId = await submit('orders-get', 'getOrder', { orderId: 42, expand: 'lines' });
    const job = await hub.waitForJob(jobId);
    expect(job.result).toEqual({ statusCode: 200, data: { id: 42, query: { expand: 'lines' } } });
  });

  test('bearer secret from SSM reaches the wire, never the job record', async () => {
    await hub.putConnector(connector('secured', { auth: { type: 'bearer', secret: 'token' } }));
    const put = await hub.cli(['secrets', 'put', 'secured', 'token', '--local'], 'sekret-value-123\n');
    expect(put.code).toBe(0);
    upstream.route('POST /api/orders', (call) => ({
      json: { auth: call.headers.authorization === 'Bearer sekret-value-123' },
    }));
    const jobId = await submit('secured', 'createOrder', { a: 1 });
    const job = await hub.waitForJob(jobId);
    expect(job.result.data).toEqual({ auth: true });
    expect(JSON.stringify(job)).not.toContain('sekret-value-123');
    expect(hub.output()).not.toContain('sekret-value-123');
    const list = await hub.cli(['secrets', 'list', 'secured', '--local']);
    expect(list.stdout).toContain('token');
    expect(list.stdout).not.toContain('sekret-value-123');
  });

  test('secrets commands refuse malformed connector ids and secret names before storing anything', async () => {
    const badId = await hub.cli(['secrets', 'put', 'Bad Id!', 'token', '--local'], 'x\n');
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('connector id "Bad Id!" is not valid');
    const badName = await hub.cli(['secrets', 'put', 'secured', 'no/slash', '--local'], 'x\n');
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('secret name "no/slash" is not valid');
    expect((await hub.cli(['secrets', 'list', 'secured', '--local'])).stdout).not.toContain('no/slash');
  });

  test('a missing secret fails the job with an actionable message and no call', async () => {
    await hub.putConnector(connector('no-secret', { auth: { type: 'bearer', secret: 'missing' } }));
    upstream.reset();
    const jobId = await submit('no-secret', 'createOrder', {});
    const job = await hub.waitForJob(jobId);
    expect(job.status).toBe('FAILED');
    expect(job.attempts).toBe(0);
    expect(job.error).toMatchObject({ code: 'SECRET_NOT_FOUND', retryable: false });
    expect(job.error.message).toContain('crm-bridge secrets put no-secret missing');
  });
});

describe('error contract', () => {
  beforeAll(async () => {
    await hub.putConnector(connector('err-target'));
    await hub.putConnector(connector('err-disabled', { enabled: false }));
  });

  test.each([
    {
      name: 'unknown connector',
      path: '/v1/callouts/nope/createOrder',
      body: { payload: {} },
      status: 404,
      code: 'CONNECTOR_NOT_FOUND',
    },
    {
      name: 'unknown operation',
      path: '/v1/callouts/err-target/deleteEverything',
      body: { payload: {} },
      status: 404,
      code: 'OPERATION_NOT_FOUND',
    },
    {
      name: 'disabled connector',
      path: '/v1/callouts/err-disabled/createOrder',
      body: { payload: {} },
      status: 409,
      code: 'CONNECTOR_DISABLED',
    },
    {
      name: 'malformed JSON',
      path: '/v1/callouts/err-target/createOrder',
      body: '{"payload": ',
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      name: 'missing payload',
      path: '/v1/callouts/err-target/createOrder',
      body: { recordId: 'x' },
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      name: 'unknown field',
      path: '/v1/callouts/err-target/createOrder',
      body: { payload: {}, extra: true },
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      name: 'recordId not a string',
      path: '/v1/callouts/err-target/createOrder',
      body: { payload: {}, recordId: 5 },
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      name: 'body not an object',
      path: '/v1/callouts/err-target/createOrder',
      body: '[1,2]',
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      name: 'bad connector id in path',
      path: '/v1/callouts/Bad!Id/createOrder',
      body: { payload: {} },
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      name: 'body over 5 MB',
      path: '/v1/callouts/err-target/createOrder',
      body: { payload: 'x'.repeat(5 * 1024 * 1024 + 1) },
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
  ])('$name -> $status $code', async ({ path, body, status, code }) => {
    const res = await hub.api('POST', path, body);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
    expect(res.body.error.message.length).toBeGreaterThan(10);
    expect(JSON.stringify(res.body)).not.toMatch(/at \w+ \(|\.ts:\d+/); // no stack traces
  });

  test('unknown job -> 404 JOB_NOT_FOUND', async () => {
    const res = await hub.api('GET', '/v1/jobs/does-not-exist');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('JOB_NOT_FOUND');
  });

  test('a connector disabled with the CLI refuses new callouts', async () => {
    await hub.putConnector(connector('to-disable'));
    expect((await hub.cli(['connectors', 'disable', 'to-disable', '--local'])).code).toBe(0);
    // The controller caches rows for CONNECTOR_CACHE_TTL_SECONDS (1 s locally).
    await new Promise((r) => setTimeout(r, 1100));
    const res = await hub.api('POST', '/v1/callouts/to-disable/createOrder', { payload: {} });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('CONNECTOR_DISABLED');
  });
});

describe('idempotency', () => {
  test('same key and body -> same job, one upstream call; different body -> 409', async () => {
    await hub.putConnector(connector('idem'));
    upstream.route('POST /api/orders', { status: 201, json: { ok: true } });
    const before = upstream.calls('POST /api/orders').length;
    const headers = { 'Idempotency-Key': `key-${Date.now()}` };
    const [a, b] = await Promise.all([
      hub.api('POST', '/v1/callouts/idem/createOrder', { payload: { n: 1, m: 2 } }, headers),
      hub.api('POST', '/v1/callouts/idem/createOrder', { payload: { m: 2, n: 1 } }, headers),
    ]);
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body.jobId).toBe(a.body.jobId);
    await hub.waitForJob(a.body.jobId);
    const again = await hub.api('POST', '/v1/callouts/idem/createOrder', { payload: { n: 1, m: 2 } }, headers);
    expect(again.body.jobId).toBe(a.body.jobId);
    const reused = await hub.api('POST', '/v1/callouts/idem/createOrder', { payload: { n: 2 } }, headers);
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    await new Promise((r) => setTimeout(r, 300));
    expect(upstream.calls('POST /api/orders').length - before).toBe(1);
  });
});

describe('retries', () => {
  test('4xx (not 408/429) fails at once with attempts 1', async () => {
    await hub.putConnector(connector('r-4xx'));
    upstream.route('GET /api/orders/bad', { status: 422, json: { message: 'sku unknown' } });
    const job = await hub.waitForJob(await submit('r-4xx', 'getOrder', { orderId: 'bad' }));
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'UPSTREAM_HTTP_ERROR', retryable: false, statusCode: 422 },
    });
    expect(job.error.message).toContain('sku unknown');
    expect(upstream.calls('GET /api/orders/bad')).toHaveLength(1);
  });

  test('5xx is retried, then succeeds', async () => {
    await hub.putConnector(connector('r-5xx'));
    upstream.route('GET /api/orders/flaky', (_c, nth) =>
      nth < 3 ? { status: 503, text: 'busy' } : { json: { ok: nth } },
    );
    const job = await hub.waitForJob(await submit('r-5xx', 'getOrder', { orderId: 'flaky' }));
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 3, result: { statusCode: 200, data: { ok: 3 } } });
    expect(job.error).toBeUndefined();
  });

  test('network errors and timeouts are retried until maxAttempts, then FAILED', async () => {
    await hub.putConnector(connector('r-down', { timeoutMs: 300, retry: { maxAttempts: 2, baseDelayMs: 10 } }));
    upstream.route('GET /api/orders/slow', { delayMs: 1000, json: {} });
    upstream.route('GET /api/orders/hangup', { hangUp: true });
    const slow = await hub.waitForJob(await submit('r-down', 'getOrder', { orderId: 'slow' }));
    expect(slow).toMatchObject({ status: 'FAILED', attempts: 2, error: { code: 'UPSTREAM_TIMEOUT', retryable: true } });
    const hung = await hub.waitForJob(await submit('r-down', 'getOrder', { orderId: 'hangup' }));
    expect(hung).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      error: { code: 'UPSTREAM_NETWORK_ERROR', retryable: true },
    });
  });

  test('retries exhausted on 500 -> FAILED with the last error', async () => {
    await hub.putConnector(connector('r-exhaust', { retry: { maxAttempts: 4, baseDelayMs: 20 } }));
    upstream.route('POST /api/orders/x', { status: 500, text: 'boom' });
    await hub.putConnector(
      connector('r-exhaust', {
        retry: { maxAttempts: 4, baseDelayMs: 20 },
        operations: { boom: { method: 'POST', path: '/orders/x' } },
      }),
    );
    const job = await hub.waitForJob(await submit('r-exhaust', 'boom', {}));
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 4,
      error: { code: 'UPSTREAM_HTTP_ERROR', retryable: true, statusCode: 500 },
    });
    expect(upstream.calls('POST /api/orders/x')).toHaveLength(4);
  });

  test('429 Retry-After is honoured (short: in the invocation; long: handed back to SQS)', async () => {
    await hub.putConnector(
      connector('r-429', {
        operations: { short: { method: 'GET', path: '/short' }, long: { method: 'GET', path: '/long' } },
      }),
    );
    upstream.route('GET /api/short', (_c, nth) =>
      nth === 1 ? { status: 429, headers: { 'retry-after': '1' }, json: {} } : { json: { ok: true } },
    );
    upstream.route('GET /api/long', (_c, nth) =>
      nth === 1 ? { status: 429, headers: { 'retry-after': '3' }, json: {} } : { json: { ok: true } },
    );
    const [shortJob, longJob] = await Promise.all([submit('r-429', 'short', null), submit('r-429', 'long', null)]);
    // While waiting in the queue the job shows its attempt count and last error.
    let longMid: any;
    for (let i = 0; i < 100 && !(longMid?.attempts >= 1); i++) {
      await new Promise((r) => setTimeout(r, 50));
      longMid = (await hub.api('GET', `/v1/jobs/${longJob}`)).body;
    }
    expect(longMid).toMatchObject({
      status: 'QUEUED',
      attempts: 1,
      error: { statusCode: 429 },
      nextAttemptAt: expect.any(String),
    });
    const [s, l] = await Promise.all([hub.waitForJob(shortJob), hub.waitForJob(longJob)]);
    expect(s).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    expect(l).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    const gap = (key: string) => {
      const [first, second] = upstream.calls(key);
      return second!.at - first!.at;
    };
    expect(gap('GET /api/short')).toBeGreaterThanOrEqual(950);
    expect(gap('GET /api/long')).toBeGreaterThanOrEqual(2950);
  });
});

describe('concurrency cap', () => {
  test('200 jobs at once: never more than 25 upstream calls in flight, all complete', async () => {
    await hub.putConnector(connector('cap', { operations: { slow: { method: 'POST', path: '/slow' } } }));
    upstream.reset();
    // Slow enough that the queue is still deep when all 25 slots fill.
    upstream.route('POST /api/slow', { delayMs: 300, json: { ok: true } });
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => submit('cap', 'slow', { i })));
    expect(new Set(ids).size).toBe(200);
    const jobs = await Promise.all(ids.map((id) => hub.waitForJob(id, 60_000)));
    expect(jobs.every((j) => j.status === 'SUCCEEDED')).toBe(true);
    expect(upstream.calls('POST /api/slow')).toHaveLength(200);
    expect(upstream.maxInFlight).toBeLessThanOrEqual(25);
    // The pool is actually used in parallel, not just capped (the exact peak depends on machine load).
    expect(upstream.maxInFlight).toBeGreaterThanOrEqual(10);
  }, 90_000);
});

/** Nice value and CPU time (clock ticks) of each thread of a process (Linux /proc). */
function threadsOf(pid: number): Array<{ tid: number; nice: number; cpu: number }> {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const fields = procStat(`/proc/${pid}/task/${tid}/stat`);
    return { tid: Number(tid), nice: Number(fields[16]), cpu: Number(fields[11]) + Number(fields[12]) };
  });
}

// On AWS the API and the worker never share a CPU; here they do.
(process.platform === 'linux' ? describe : describe.skip)('sharing the cores (Linux)', () => {
  test('the API thread runs at nice 10; the worker and emulator threads keep the normal priority', () => {
    // Run after the 200 jobs above: the worker and both emulators have used CPU by now.
    const threads = threadsOf(hub.state.pid);
    expect(threads.find((t) => t.tid === hub.state.pid)?.nice).toBe(10);
    const others = threads.filter((t) => t.tid !== hub.state.pid).sort((a, b) => b.cpu - a.cpu);
    // The three busiest other threads: the worker, dynalite and fauxqs (or tsx's loader threads, also started before).
    expect(others.slice(0, 3).map((t) => t.nice)).toEqual([0, 0, 0]);
  });

  test('API_NICE=0 leaves the API thread alone', async () => {
    const plain = await startHubProcess({ API_NICE: '0' });
    try {
      expect(threadsOf(plain.state.pid).find((t) => t.tid === plain.state.pid)?.nice).toBe(0);
    } finally {
      await plain.stop();
    }
  }, 60_000);
});

test('the API key used by tests is not the default one', () => {
  expect(TEST_API_KEY).not.toBe('local-dev-key');
});
