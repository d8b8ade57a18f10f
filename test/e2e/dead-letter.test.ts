import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { startFakeUpstream, type FakeUpstream } from '../../local/fake-upstream';
import { startHubProcess, type RunningHub } from '../../local/hub-process';

/**
 * Poison messages end in the dead-letter queue, where the CLI shows them and
 * replays them. The hub runs with a 1 s worker timeout (6 s visibility) and
 * maxReceiveCount 2 so this takes seconds, not the 25 x 6 min of the defaults.
 */
let hub: RunningHub;
let upstream: FakeUpstream;
let sqs: SQSClient;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  // Batches of up to 10: poison and good messages share invocations (partial batch responses).
  hub = await startHubProcess({ WORKER_TIMEOUT_SECONDS: '1', MAX_RECEIVE_COUNT: '2', WORKER_BATCH_SIZE: '10' });
  sqs = new SQSClient({
    region: hub.state.region,
    endpoint: hub.state.endpoints.sqs,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
  });
});
afterAll(async () => {
  sqs?.destroy();
  await hub?.stop();
  await upstream?.close();
});

async function visibleInDlq(): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: hub.state.queues.deadLetter,
      AttributeNames: ['ApproximateNumberOfMessages'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

test('a message for a job that does not exist reaches the DLQ; list shows it, replay sends it back', async () => {
  upstream.route('POST /ok', { json: { fine: true } });
  await hub.putConnector({
    connectorId: 'dl-batch',
    type: 'rest',
    baseUrl: upstream.url,
    operations: { go: { method: 'POST', path: '/ok' } },
  });
  await sqs.send(
    new SendMessageCommand({ QueueUrl: hub.state.queues.jobs, MessageBody: JSON.stringify({ jobId: 'ghost-job' }) }),
  );
  const good = await Promise.all(
    Array.from({ length: 5 }, () => hub.api('POST', '/v1/callouts/dl-batch/go', { payload: {} })),
  );
  await sqs.send(new SendMessageCommand({ QueueUrl: hub.state.queues.jobs, MessageBody: 'not json at all' }));
  for (const res of good) expect(await hub.waitForJob(res.body.jobId)).toMatchObject({ status: 'SUCCEEDED' });
  const deadline = Date.now() + 30_000;
  while ((await visibleInDlq()) < 2) {
    if (Date.now() > deadline) throw new Error(`poison messages not dead-lettered:\n${hub.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const listed = await hub.cli(['dlq', 'list', '--local']);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toContain('ghost-job');
  expect(listed.stdout).toContain('not json at all');
  expect(listed.stderr).toContain('2 message(s)');
  expect(await visibleInDlq()).toBe(2); // listing does not hide them
  // The worker saw the last receive fail and said so, readably (npm start's default log format).
  expect(hub.output()).toMatch(/ERROR job message dead-lettered event=deadLettered jobId=ghost-job .*receiveCount=2/);
  // Good jobs' transitions are one line each, with the connector and operation.
  expect(hub.output()).toMatch(/INFO  job accepted event=accepted jobId=\S+ connectorId=dl-batch operation=go/);
  expect(hub.output()).toMatch(
    /INFO  job succeeded event=succeeded jobId=\S+ connectorId=dl-batch operation=go .*statusCode=200/,
  );

  const replayed = await hub.cli(['dlq', 'replay', '--local']);
  expect(replayed.code).toBe(0);
  expect(replayed.stderr).toContain('replayed 2 message(s)');
  expect(await visibleInDlq()).toBe(0);
}, 60_000);

test('a real job still completes while poison messages cycle', async () => {
  upstream.route('POST /ok', { json: { fine: true } });
  await hub.putConnector({
    connectorId: 'dl-ok',
    type: 'rest',
    baseUrl: upstream.url,
    operations: { go: { method: 'POST', path: '/ok' } },
  });
  const res = await hub.api('POST', '/v1/callouts/dl-ok/go', { payload: {} });
  expect(res.status).toBe(202);
  expect(await hub.waitForJob(res.body.jobId)).toMatchObject({ status: 'SUCCEEDED', result: { data: { fine: true } } });
});

test('a job that waits for its limit more times than maxReceiveCount still succeeds, with one call', async () => {
  upstream.route('POST /waited', { json: { fine: true } });
  await hub.putConnector({
    connectorId: 'dl-wait',
    type: 'rest',
    baseUrl: upstream.url,
    limits: { maxConcurrency: 1 },
    operations: { go: { method: 'POST', path: '/waited' } },
  });
  // The connector's one slot is held by a call of a worker that died: free once its lease ends, 5 s from now.
  const now = Date.now();
  await hub.db.send(
    new PutCommand({
      TableName: hub.state.tables.jobs,
      Item: {
        pk: 'LIMIT#dl-wait',
        v: 1,
        ended: {},
        state: JSON.stringify({ calls: { lost: { s: now, x: now + 5000 } }, failures: 0, lastOkAt: now }),
      },
    }),
  );
  const res = await hub.api('POST', '/v1/callouts/dl-wait/go', { payload: {} });
  expect(res.status).toBe(202);
  const jobId = res.body.jobId as string;
  expect(await hub.waitForJob(jobId, 30_000)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  // It waited (CONCURRENCY_LIMIT, about a second each) more often than a message may be received (2)...
  const waits = hub
    .output()
    .split('\n')
    .filter((l) => l.includes('event=waiting') && l.includes(`jobId=${jobId}`));
  expect(waits.length).toBeGreaterThan(2);
  expect(hub.output()).not.toMatch(new RegExp(`event=deadLettered jobId=${jobId}`));
  // ...and the service was called once: no wait and no extra message repeated the call.
  expect(upstream.calls('POST /waited')).toHaveLength(1);
}, 45_000);
