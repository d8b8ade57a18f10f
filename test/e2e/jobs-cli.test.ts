import { startFakeUpstream, type FakeUpstream } from '../../local/fake-upstream';
import { startHubProcess, type RunningHub } from '../../local/hub-process';

/** `crm-bridge jobs ...` against the local hub (child process): list, get, retry one, retry all failed of a connector. */
let hub: RunningHub;
let upstream: FakeUpstream;
let up = false;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.route('POST /api/orders', () => (up ? { json: { ok: true } } : { status: 500, json: { message: 'down' } }));
  hub = await startHubProcess();
  for (const connectorId of ['cli-jobs', 'cli-other']) {
    await hub.putConnector({
      connectorId,
      type: 'rest',
      baseUrl: `${upstream.url}/api`,
      timeoutMs: 2000,
      retry: { maxAttempts: 1 },
      operations: { create: { method: 'POST', path: '/orders' } },
    });
  }
});

afterAll(async () => {
  await hub?.stop();
  await upstream?.close();
});

async function submit(connectorId: string): Promise<string> {
  const res = await hub.api('POST', `/v1/callouts/${connectorId}/create`, { payload: { n: 1 } });
  expect(res.status).toBe(202);
  return res.body.jobId as string;
}

test('list, get, retry one and retry all failed of a connector, through the API, to SUCCEEDED', async () => {
  const a = await submit('cli-jobs');
  const b = await submit('cli-jobs');
  const other = await submit('cli-other');
  for (const id of [a, b, other]) expect((await hub.waitForJob(id)).status).toBe('FAILED');

  const listed = await hub.cli(['jobs', 'list', '--connector', 'cli-jobs', '--status', 'failed', '--local']);
  expect(listed).toMatchObject({ code: 0 });
  expect(
    listed.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t').slice(0, 4)),
  ).toEqual([
    [b, 'FAILED', '1', 'cli-jobs'],
    [a, 'FAILED', '1', 'cli-jobs'],
  ]);
  expect(
    (await hub.cli(['jobs', 'list', '--connector', 'cli-jobs', '--limit', '1', '--local'])).stdout.trim().split('\n'),
  ).toHaveLength(1);
  expect(await hub.cli(['jobs', 'list', '--local'])).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('--connector, --status or both'),
  });

  up = true;
  const one = await hub.cli(['jobs', 'retry', a, '--local']);
  expect(one).toMatchObject({ code: 0, stdout: `${a}\tQUEUED\n` });
  await hub.waitForJob(a);
  const got = await hub.cli(['jobs', 'get', a, '--local']);
  expect(JSON.parse(got.stdout)).toMatchObject({
    jobId: a,
    status: 'SUCCEEDED',
    attempts: 1,
    history: [{ attempts: 1, error: { statusCode: 500 } }],
  });
  // Not FAILED any more: 409, exit 1.
  expect(await hub.cli(['jobs', 'retry', a, '--local'])).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('JOB_NOT_RETRYABLE'),
  });
  expect(await hub.cli(['jobs', 'retry', 'no-such-job', '--local'])).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('JOB_NOT_FOUND'),
  });

  // Without a terminal and without --yes: refused, nothing retried.
  const refused = await hub.cli(['jobs', 'retry', '--all-failed', '--connector', 'cli-jobs', '--local']);
  expect(refused).toMatchObject({
    code: 2,
    stderr: expect.stringMatching(/1 FAILED job\(s\) of connector cli-jobs[\s\S]*--yes/),
  });
  expect((await hub.api('GET', `/v1/jobs/${b}`)).body.status).toBe('FAILED');

  const all = await hub.cli(['jobs', 'retry', '--all-failed', '--connector', 'cli-jobs', '--yes', '--local']);
  expect(all).toMatchObject({ code: 0, stdout: `${b}\tQUEUED\n`, stderr: expect.stringContaining('retried 1 of 1') });
  expect(await hub.waitForJob(b)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  // The other connector's failed job was left alone.
  expect((await hub.api('GET', `/v1/jobs/${other}`)).body.status).toBe('FAILED');
});
