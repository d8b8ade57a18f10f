import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import { wrappers } from '../../lambdas/connectors';
import { privateTargetsPolicy } from '../../lambdas/connectors/targets';
import { nodeFetch } from '../../lambdas/connectors/transport';
import { CalloutService } from '../../lambdas/domain/callout-service';
import { ConnectorStore } from '../../lambdas/adapters/connector-store';
import { JobStore } from '../../lambdas/adapters/job-store';
import { ConnectorMetrics, createJobEvents } from '../../lambdas/adapters/job-events';
import { startDynamo } from '../support/dynamo';
import { sqsRecord } from '../support/events';
import { jobWorker, mockLogger, testQueue } from '../support/worker';
import { startFakeUpstream, type FakeUpstream } from '../../local/fake-upstream';
import { queuedJob } from '../support/jobs';

/**
 * Job transitions as operators see them: a real JobRunner, the REST wrapper
 * calling a local upstream, real stores on dynalite, and the Powertools
 * logger and metrics whose output (stdout/stderr) is captured.
 */
let dynamo: Awaited<ReturnType<typeof startDynamo>>;
let upstream: FakeUpstream;
const sqsMock = mockClient(SQSClient);
let seq = 0;
const SECRET_PAYLOAD = 'do-not-log-this-4711';

beforeAll(async () => {
  [dynamo, upstream] = await Promise.all([startDynamo(), startFakeUpstream()]);
});
afterAll(async () => {
  sqsMock.restore();
  await Promise.all([dynamo?.stop(), upstream?.close()]);
});

/** Everything written to stdout and stderr while `fn` runs. */
async function capture(fn: () => Promise<unknown>): Promise<string[]> {
  const out: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
      out.push(String(chunk));
      return true;
    }),
  );
  try {
    await fn();
  } finally {
    spies.forEach((s) => s.mockRestore());
  }
  return out.join('').split('\n').filter(Boolean);
}

/** An enabled REST connector row at the upstream stand-in, written straight into the table. */
const putRestConnector = (connectorId: string, extra: Record<string, unknown>) =>
  dynamo.db.send(
    new PutCommand({
      TableName: dynamo.tables.connectors,
      Item: { connectorId, type: 'rest', enabled: true, baseUrl: upstream.url, ...extra },
    }),
  );

async function runJob(path: string, extra: { traceparent?: string } = {}) {
  const connectorId = `ev-${++seq}`;
  await putRestConnector(connectorId, {
    timeoutMs: 5000,
    network: { allowPrivate: true },
    retry: { maxAttempts: 3, baseDelayMs: 10 },
    operations: { op: { method: 'POST', path } },
  });
  const jobs = new JobStore(dynamo.client, dynamo.tables.jobs, 30, Date.now);
  const jobId = `ev-job-${seq}`;
  const createdAt = new Date(Date.now() - 1500).toISOString();
  await jobs.create(
    queuedJob({
      jobId,
      connectorId,
      createdAt,
      correlationId: `corr-${seq}`,
      payload: { secret: SECRET_PAYLOAD },
      ...extra,
    }),
  );
  const metrics = new ConnectorMetrics();
  const worker = jobWorker({
    connectors: new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0),
    jobs,
    queue: testQueue(),
    wrappers,
    wrapperDeps: { secrets: { get: async () => 'x' }, fetch: nodeFetch, privateTargets: privateTargetsPolicy('allow') },
    logger: mockLogger(),
    events: createJobEvents(metrics, new Logger({ serviceName: 'crm-bridge-test', logLevel: 'INFO' })),
    sleep: async () => undefined,
    random: () => 0.5,
  });
  const lines = await capture(async () => {
    await worker.process(sqsRecord(JSON.stringify({ jobId })));
    metrics.flush();
  });
  const records = lines.map((l) => JSON.parse(l) as Record<string, any>);
  return {
    connectorId,
    jobId,
    lines,
    logs: records.filter((r) => r.event !== undefined),
    emf: records.filter((r) => r._aws !== undefined),
  };
}

describe('traceparent', () => {
  it("sends the upstream the job's trace id with a new parent id, and logs the trace id", async () => {
    const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    upstream.route('POST /traced', { status: 200, json: { ok: true } });
    const { logs } = await runJob('/traced', { traceparent: caller });
    const [call] = upstream.calls('POST /traced');
    const sent = String(call!.headers.traceparent);
    expect(sent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(sent.split('-')[2]).not.toBe('00f067aa0ba902b7');
    expect(logs.find((l) => l.event === 'succeeded')).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
  });
});

describe('traceparent on submit', () => {
  async function submit(traceparent: string | undefined) {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm' });
    const connectorId = `tp-${++seq}`;
    await putRestConnector(connectorId, { operations: { op: { method: 'POST', path: '/x' } } });
    const jobs = new JobStore(dynamo.client, dynamo.tables.jobs, 30, Date.now);
    const accepted: unknown[] = [];
    const service = new CalloutService({
      connectors: new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0),
      jobs,
      queue: testQueue(),
      logger: { error: jest.fn() },
      events: { ...createJobEvents(new ConnectorMetrics(), mockLogger()), accepted: (job) => accepted.push(job) },
    });
    const { jobId } = await service.submit({ connectorId, operation: 'op', payload: {}, traceparent });
    return { job: (await jobs.get(jobId))!, accepted, connectorId };
  }

  it("keeps the caller's valid traceparent on the job and reports accepted with its trace id", async () => {
    const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { job, accepted, connectorId } = await submit(caller);
    expect(job.traceparent).toBe(caller);
    expect(accepted).toEqual([
      expect.objectContaining({
        jobId: job.jobId,
        connectorId,
        operation: 'op',
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      }),
    ]);
  });

  it('starts a new trace without a header, or for an invalid one', async () => {
    for (const header of [undefined, 'not-a-traceparent']) {
      const { job } = await submit(header);
      expect(job.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    }
  });
});

describe('job transitions', () => {
  it('logs started, the failed attempt with its retry plan and success, with ids, attempt, duration and status code, and no payload', async () => {
    upstream.route('POST /flaky', (_call, nth) =>
      nth === 1 ? { status: 503, json: { busy: true } } : { status: 200, json: { ok: true } },
    );
    const { connectorId, jobId, lines, logs } = await runJob('/flaky');

    expect(logs.map((l) => l.event)).toEqual(['started', 'attemptFailed', 'succeeded']);
    const [started, attemptFailed, succeeded] = logs;
    for (const line of logs)
      expect(line).toMatchObject({ jobId, connectorId, operation: 'op', correlationId: `corr-${seq}` });
    expect(started).toMatchObject({ level: 'INFO', attempt: 1 });
    expect(started!.queueWaitMs).toBeGreaterThanOrEqual(1500);
    expect(attemptFailed).toMatchObject({ level: 'WARN', attempt: 1, statusCode: 503, retryBy: 'inline' });
    expect(attemptFailed!.retryInMs).toBeGreaterThan(0);
    expect(attemptFailed!.message).toMatch(/retry in \d+ ms/);
    expect(succeeded).toMatchObject({ level: 'INFO', attempt: 2, statusCode: 200 });
    expect(typeof succeeded!.durationMs).toBe('number');
    expect(lines.join('\n')).not.toContain(SECRET_PAYLOAD);
  });

  it('logs a failed job with its code and status code', async () => {
    upstream.route('POST /bad', { status: 400, json: { error: 'nope' } });
    const { logs } = await runJob('/bad');
    expect(logs.map((l) => l.event)).toEqual(['started', 'attemptFailed', 'failed']);
    expect(logs[2]).toMatchObject({ level: 'WARN', attempt: 1, statusCode: 400, code: expect.any(String) });
    expect(logs[1]!.retryInMs).toBeUndefined();
  });

  it('writes EMF metrics in namespace CrmBridge with the connectorId dimension only', async () => {
    upstream.route('POST /flaky2', (_call, nth) => (nth === 1 ? { status: 503 } : { status: 200, json: { ok: true } }));
    const { connectorId, emf } = await runJob('/flaky2');
    expect(emf).toHaveLength(1);
    const doc = emf[0]!;
    const directive = doc._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe('CrmBridge');
    expect(directive.Dimensions).toEqual([['connectorId']]);
    expect(doc.connectorId).toBe(connectorId);
    expect(doc.service).toBeUndefined();
    const names = directive.Metrics.map((m: { Name: string }) => m.Name).sort();
    expect(names).toEqual([
      'Attempts',
      'AttemptsFailed',
      'FailureRate',
      'JobsSucceeded',
      'QueueWait',
      'UpstreamLatency',
    ]);
    expect(doc.Attempts).toEqual([1, 1]);
    expect(doc.JobsSucceeded).toBe(1);
    expect(doc.FailureRate).toBe(0);
    expect(doc.QueueWait).toBeGreaterThanOrEqual(1500);
    expect(directive.Metrics.find((m: { Name: string }) => m.Name === 'UpstreamLatency').Unit).toBe('Milliseconds');
  });
});
