import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { CalloutService } from '../../lambdas/domain/callout-service';
import { ConnectorStore } from '../../lambdas/adapters/connector-store';
import { JobQueue } from '../../lambdas/adapters/job-queue';
import { JobStore } from '../../lambdas/adapters/job-store';
import { S3JobDataStore } from '../../lambdas/adapters/s3-job-data-store';
import type { Wrapper, WrapperMap } from '../../lambdas/connectors/types';
import { connectorSchema } from '../../lambdas/connectors/schema';
import { startDynamo } from '../support/dynamo';
import { sqsRecord } from '../support/events';
import { jobWorker, testQueue } from '../support/worker';
import { queuedJob } from '../support/jobs';

/**
 * The Lambdas' SDK clients (lambdas/shared/clients.ts) bound every call: an SQS
 * endpoint that accepts connections and never answers makes the enqueue fail in
 * seconds, so the controller records the job as FAILED instead of hanging until
 * the Lambda timeout kills it with the job QUEUED and no message.
 */
let dynamo: Awaited<ReturnType<typeof startDynamo>>;
let silent: Server;
const sockets = new Set<Socket>();

beforeAll(async () => {
  dynamo = await startDynamo();
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
});

// Jest workers run several test files in one process: give the environment back as found.
const savedEnv = { ...process.env };

afterAll(async () => {
  process.env = savedEnv;
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
  await dynamo.stop();
});

/**
 * A fresh copy of the Lambdas' clients (lambdas/shared/clients.ts) with a 300 ms request
 * timeout, pointed by `env` at the endpoint that never answers.
 */
function clientsAgainstSilent(env: (endpoint: string) => Record<string, string>) {
  const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    SDK_REQUEST_TIMEOUT_MS: '300',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...env(endpoint),
  });
  let clients!: typeof import('../../lambdas/shared/clients');
  jest.isolateModules(() => {
    clients = require('../../lambdas/shared/clients');
  });
  return { endpoint, clients };
}

/** The connector store with a REST connector `id` in it (its upstream is never reached). */
async function restConnector(id: string) {
  const connectors = new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0);
  await connectors.put(
    connectorSchema.parse({
      connectorId: id,
      type: 'rest',
      baseUrl: 'http://127.0.0.1:1',
      operations: { op: { method: 'POST', path: '/x' } },
    }),
  );
  return connectors;
}

test('an SQS endpoint that never answers fails the enqueue in seconds and the job is recorded FAILED', async () => {
  const { endpoint, clients } = clientsAgainstSilent((url) => ({ AWS_ENDPOINT_URL_SQS: url }));
  const connectors = await restConnector('slow-queue');
  const jobs = new JobStore(dynamo.client, dynamo.tables.jobs);
  const service = new CalloutService({
    connectors,
    jobs,
    queue: new JobQueue(clients.sqs, `${endpoint}/000000000000/jobs`),
    logger: { error: () => undefined },
    newId: () => 'job-hung-queue',
  });

  // Without request timeouts this never settles and the test times out.
  await expect(service.submit({ connectorId: 'slow-queue', operation: 'op', payload: {} })).rejects.toMatchObject({
    code: 'QUEUE_UNAVAILABLE',
    httpStatus: 503,
  });
  expect(await jobs.get('job-hung-queue')).toMatchObject({
    status: 'FAILED',
    error: { code: 'QUEUE_UNAVAILABLE', retryable: true },
  });
  clients.sqs.destroy();
}, 15_000);

test('an S3 endpoint that never answers: a large result cannot be kept, and the job ends OUTCOME_NOT_RECORDED in seconds, called once', async () => {
  const { clients } = clientsAgainstSilent((url) => ({ AWS_ENDPOINT_URL_S3: url, S3_FORCE_PATH_STYLE: 'true' }));
  const connectors = await restConnector('slow-s3');
  const jobs = new JobStore(dynamo.client, dynamo.tables.jobs, 30, Date.now, {
    data: new S3JobDataStore(clients.jobDataS3, 'job-data'),
  });
  await jobs.create(queuedJob({ jobId: 'job-hung-s3', connectorId: 'slow-s3' }));
  let calls = 0;
  const wrapper: Wrapper = {
    async call() {
      calls += 1;
      return { statusCode: 200, data: 'r'.repeat(200 * 1024) };
    },
  };
  const worker = jobWorker({
    connectors,
    jobs,
    queue: testQueue(clients.sqs, 'http://q'),
    wrappers: { rest: wrapper } as WrapperMap,
    wrapperDeps: { secrets: { get: async () => 'x' }, fetch: globalThis.fetch },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    sleep: async () => undefined,
  });
  // Without request timeouts the result's PutObject never settles and the test times out.
  await worker.process(sqsRecord(JSON.stringify({ jobId: 'job-hung-s3' })), () => 60_000);
  expect(await jobs.get('job-hung-s3')).toMatchObject({
    status: 'FAILED',
    attempts: 1,
    error: { code: 'OUTCOME_NOT_RECORDED', retryable: false },
  });
  expect(calls).toBe(1);
  clients.jobDataS3().destroy();
  clients.sqs.destroy();
}, 30_000);
