import { startFakeUpstream, type FakeUpstream } from '../../local/fake-upstream';
import { startHubProcess, type RunningHub } from '../../local/hub-process';

/**
 * Payloads and results too large for a DynamoDB item, through the real local
 * hub (API, SQS, worker, DynamoDB and S3 emulators) against a service on 127.0.0.1.
 */
let hub: RunningHub;
let upstream: FakeUpstream;
const MB = 1024 * 1024;

beforeAll(async () => {
  [upstream, hub] = await Promise.all([startFakeUpstream(), startHubProcess()]);
  await hub.putConnector({
    connectorId: 'big',
    type: 'rest',
    baseUrl: upstream.url,
    timeoutMs: 10_000,
    retry: { maxAttempts: 3, baseDelayMs: 50 },
    operations: { send: { method: 'POST', path: '/big' }, huge: { method: 'POST', path: '/huge' } },
  });
});
afterAll(async () => {
  await hub?.stop();
  await upstream?.close();
});

test('a 4 MB payload is accepted, sent once in full, and a 4.5 MB result comes back whole from GET /v1/jobs/{id}', async () => {
  const payload = { text: 'p'.repeat(4 * MB) };
  const data = { rows: Array.from({ length: 1000 }, (_, i) => ({ i, blob: 'r'.repeat(4.5 * 1024) })) };
  upstream.route('POST /big', { json: data });
  const res = await hub.api('POST', '/v1/callouts/big/send', { payload });
  expect(res.status).toBe(202);
  const job = await hub.waitForJob(res.body.jobId, 60_000);
  expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  expect(job.result).toEqual({ statusCode: 200, data });
  // The v1 job view: no claim-check reference, no payload.
  expect(Object.keys(job).sort()).toEqual([
    'attempts',
    'connectorId',
    'createdAt',
    'jobId',
    'operation',
    'result',
    'status',
    'updatedAt',
  ]);
  const calls = upstream.calls('POST /big');
  expect(calls).toHaveLength(1);
  expect(calls[0]!.json).toEqual(payload);
  expect(calls[0]!.headers['idempotency-key']).toBe(res.body.jobId);
});

test('a result over 5 MB ends the job FAILED with RESULT_TOO_LARGE, and the service is called once', async () => {
  upstream.route('POST /huge', { json: { blob: 'x'.repeat(5 * MB + 10) } });
  const res = await hub.api('POST', '/v1/callouts/big/huge', { payload: { n: 1 } });
  const job = await hub.waitForJob(res.body.jobId, 60_000);
  expect(job).toMatchObject({
    status: 'FAILED',
    attempts: 1,
    error: { code: 'RESULT_TOO_LARGE', retryable: false, statusCode: 200 },
  });
  await new Promise((r) => setTimeout(r, 1000));
  expect(upstream.calls('POST /huge')).toHaveLength(1);
});

test('a payload over 5 MB is refused with 413 PAYLOAD_TOO_LARGE, and no job is made', async () => {
  const before = upstream.calls().length;
  const res = await hub.api('POST', '/v1/callouts/big/send', { payload: 'x'.repeat(5 * MB + 1) });
  expect(res.status).toBe(413);
  expect(res.body).toEqual({
    error: { code: 'PAYLOAD_TOO_LARGE', message: expect.stringMatching(/limit is 5242880 bytes/) },
  });
  // Just over the body limit too (the router's check, before parsing).
  const body = await hub.api('POST', '/v1/callouts/big/send', { payload: 'x'.repeat(5 * MB + 70 * 1024) });
  expect(body.status).toBe(413);
  expect(upstream.calls().length).toBe(before);
});
