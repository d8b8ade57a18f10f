import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { CreateTableCommand, DynamoDBClient, type KeySchemaElement, type Projection } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createApiGateway } from './api-gateway';
import { SqsPoller } from './poller';
import { startEmulators, startEmulatorsThread } from './emulators';
import { startScanner } from './scanner';
import { startThread } from './thread';
import type { WorkerThreadData } from './worker-thread';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION, type LocalHubState } from './state';
import { JOB_INDEXES, JOB_LIST_SORT_KEY, projectedFields, type JobIndexName } from '../lambdas/contract/job-indexes';
import type { ResourceVariable } from '../lambdas/contract/env';
import {
  DEAD_LETTER_RETENTION_DAYS,
  DEFAULT_MAX_RECEIVE_COUNT,
  WORKER_BATCH_SIZE,
  WORKER_CONCURRENCY,
  WORKER_TIMEOUT_SECONDS,
  visibilityTimeoutSeconds,
} from '../lambdas/contract/queue';
import { CONNECTORS_TABLE_KEY, FILES_TABLE, JOBS_TABLE, MIGRATIONS_TABLE } from '../lambdas/contract/storage';

/**
 * The whole crm-bridge pipeline in one process, on embedded emulators reached
 * over HTTP by the real AWS SDK clients: dynalite (DynamoDB), fauxqs (SQS, S3),
 * a local SSM endpoint; the real controller and worker handlers behind a
 * local API Gateway and a local SQS event source. The API runs in the main
 * thread; the emulators and the worker (with its event source) each run in a
 * worker thread (see `threads`).
 */
export interface HubOptions {
  /** API port; 0 picks a free one. @default 3000 */
  port?: number;
  apiKey: string;
  /** Worker event source maximum concurrency (the cap on jobs in flight). @default WORKER_CONCURRENCY.default (25) */
  workerConcurrency?: number;
  /** @default WORKER_BATCH_SIZE.default (1) */
  batchSize?: number;
  /** @default WORKER_TIMEOUT_SECONDS.default (60 s) */
  workerTimeoutMs?: number;
  /** Connector cache in the Lambdas; short locally so edits show at once. @default 1 */
  connectorCacheTtlSeconds?: number;
  /** @default DEFAULT_MAX_RECEIVE_COUNT (25), as the stack's */
  maxReceiveCount?: number;
  onWorkerError?: (err: unknown) => void;
  /**
   * Run the emulators and the worker (with its SQS event source) in worker
   * threads, the API in the main thread: three threads that use the cores
   * the way separate services and Lambdas do on AWS. `false` runs all in one
   * thread (simpler to debug and profile). @default true
   */
  threads?: boolean;
  /**
   * Controller invocations the local API Gateway runs at once (see
   * GatewayOptions.maxConcurrency); 0 for no limit. The API thread plays one
   * Lambda execution environment, which serves one request at a time; on AWS
   * more environments run side by side, each with its own CPU. @default 1
   */
  apiConcurrency?: number;
  /**
   * Nice value of the API thread when the hub runs in threads on Linux (0
   * leaves it alone). Here the API and the workers share the machine's cores,
   * where on AWS they do not: under a burst of submissions the API then yields
   * the CPU to the jobs in flight, which hold the worker slots; with cores to
   * spare it changes nothing. @default 10
   */
  apiNice?: number;
  /**
   * `bundled` runs the controller and worker bundles that `cdk synth` produces (see
   * local/bundles.ts) instead of the TypeScript sources: what would be deployed. @default 'source'
   */
  handlers?: 'source' | 'bundled';
  /**
   * `local`: malware scanning on, with the stand-in scanner (local/scanner.ts)
   * in place of GuardDuty: completed files are SCANNING until it reports.
   * @default off (completed files are AVAILABLE at once, as without the stack's malwareScan)
   */
  malwareScan?: 'local';
  /** A hub thread died after start-up. @default print the error and exit the process with code 1 */
  onFatal?: (err: Error) => void;
}

export interface Hub {
  state: Omit<LocalHubState, 'pid'>;
  stop(): Promise<void>;
}

/** HubOptions.apiConcurrency and apiNice when not given (`npm start` reads API_CONCURRENCY and API_NICE). */
export const DEFAULT_API_CONCURRENCY = 1;
export const DEFAULT_API_NICE = 10;
/** How long `npm start`'s worker reuses a secret value: as short as the row cache (CONNECTOR_CACHE_TTL_SECONDS, 1 s locally). */
export const LOCAL_SECRETS_CACHE_TTL_SECONDS = 1;

const REGION = EMULATOR_REGION;
const STAGE = 'local';
const credentials = EMULATOR_CREDENTIALS;

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

/** A table's or an index's key: string attributes, the sort key optional. */
interface TableKey {
  partitionKey: string;
  sortKey?: string;
}

const keySchema = ({ partitionKey, sortKey }: TableKey): KeySchemaElement[] => [
  { AttributeName: partitionKey, KeyType: 'HASH' },
  ...(sortKey === undefined ? [] : [{ AttributeName: sortKey, KeyType: 'RANGE' as const }]),
];

/** A pay-per-request table with its indexes; the attribute definitions are the keys they name. */
async function createTable(
  ddb: DynamoDBClient,
  TableName: string,
  key: TableKey,
  indexes: Array<{ name: string; key: TableKey; projection: Projection }> = [],
) {
  const keys = [key, ...indexes.map((index) => index.key)];
  const attributes = new Set(
    keys.flatMap((k) => (k.sortKey === undefined ? [k.partitionKey] : [k.partitionKey, k.sortKey])),
  );
  await ddb.send(
    new CreateTableCommand({
      TableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [...attributes].map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
      KeySchema: keySchema(key),
      ...(indexes.length > 0 && {
        GlobalSecondaryIndexes: indexes.map((index) => ({
          IndexName: index.name,
          KeySchema: keySchema(index.key),
          Projection: index.projection,
        })),
      }),
    }),
  );
}

/** The hub's DynamoDB tables, with the same keys as lib/constructs/tables.ts and file-store.ts. */
export async function createLocalTables(ddb: DynamoDBClient) {
  const tables = {
    connectors: 'crm-bridge-local-connectors',
    jobs: 'crm-bridge-local-jobs',
    files: 'crm-bridge-local-files',
    migrations: 'crm-bridge-local-migrations',
  };
  await createTable(ddb, tables.connectors, { partitionKey: CONNECTORS_TABLE_KEY });
  await createTable(
    ddb,
    tables.jobs,
    JOBS_TABLE,
    (Object.keys(JOB_INDEXES) as JobIndexName[]).map((name) => ({
      name,
      key: { partitionKey: JOB_INDEXES[name].partitionKey, sortKey: JOB_LIST_SORT_KEY },
      projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: projectedFields(name) },
    })),
  );
  const { byRecord } = FILES_TABLE;
  await createTable(ddb, tables.files, FILES_TABLE, [
    { name: byRecord.indexName, key: byRecord, projection: { ProjectionType: 'ALL' } },
  ]);
  await createTable(ddb, tables.migrations, MIGRATIONS_TABLE);
  // dynalite has no TTL API (UpdateTimeToLive): jobs simply never expire locally.
  return tables;
}

/**
 * The environment the handlers read to reach the hub's emulators and resources,
 * as the stack sets it on Lambda. One definition for the hub and for tests that
 * run a handler in-process, so a new resource cannot be missing from one of them.
 */
export function localHandlerEnvironment(
  endpoints: { dynamodb: string; sqs: string; s3: string; ssm?: string },
  resources: LocalResources,
): Record<string, string> {
  return {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    ...(endpoints.ssm !== undefined && { AWS_ENDPOINT_URL_SSM: endpoints.ssm }),
    S3_FORCE_PATH_STYLE: 'true',
    ...({
      STAGE,
      CONNECTORS_TABLE: resources.tables.connectors,
      JOBS_TABLE: resources.tables.jobs,
      FILES_TABLE: resources.tables.files,
      MIGRATIONS_TABLE: resources.tables.migrations,
      FILES_BUCKET: resources.bucket,
      JOB_DATA_BUCKET: resources.jobDataBucket,
      JOBS_QUEUE_URL: resources.queues.jobs,
    } satisfies Record<ResourceVariable, string>),
  };
}

export type LocalResources = Awaited<ReturnType<typeof createLocalResources>>;

export async function createLocalResources(
  endpoints: { dynamodb: string; sqs: string; s3: string },
  maxReceiveCount: number,
  visibilityTimeoutSeconds: number,
) {
  const ddb = new DynamoDBClient({ region: REGION, endpoint: endpoints.dynamodb, credentials });
  const tables = await createLocalTables(ddb);
  ddb.destroy();

  const sqs = new SQSClient({ region: REGION, endpoint: endpoints.sqs, credentials });
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: 'crm-bridge-local-jobs-dlq',
      Attributes: { MessageRetentionPeriod: String(DEAD_LETTER_RETENTION_DAYS * 86400) },
    }),
  );
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;
  const main = await sqs.send(
    new CreateQueueCommand({
      QueueName: 'crm-bridge-local-jobs',
      Attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
      },
    }),
  );
  const mainArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: main.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;
  sqs.destroy();

  const s3 = new S3Client({ region: REGION, endpoint: endpoints.s3, credentials, forcePathStyle: true });
  const bucket = 'crm-bridge-local-files';
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  // Payloads and results too large for a job item (claim check); the files bucket is the CLI's and the API's.
  const jobDataBucket = 'crm-bridge-local-job-data';
  await s3.send(new CreateBucketCommand({ Bucket: jobDataBucket }));
  s3.destroy();

  return {
    tables,
    queues: { jobs: main.QueueUrl!, deadLetter: dlq.QueueUrl!, jobsArn: mainArn },
    bucket,
    jobDataBucket,
  };
}

/**
 * Lowers the calling thread's priority. On Linux setpriority() with pid 0
 * applies to the calling thread alone; elsewhere it would apply to the whole
 * process, which changes nothing between its threads, so it is skipped.
 */
function lowerThreadPriority(nice: number): void {
  if (nice === 0 || process.platform !== 'linux') return;
  try {
    if (os.getPriority() < nice) os.setPriority(nice);
  } catch {
    // Not allowed here (a sandbox): the hub works the same, only less evenly under bursts.
  }
}

export async function startHub(options: HubOptions): Promise<Hub> {
  const workerTimeoutMs = options.workerTimeoutMs ?? WORKER_TIMEOUT_SECONDS.default * 1000;
  const maxReceiveCount = options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
  const stops: Array<() => Promise<void>> = [];
  // Lambda runs Node 22; the SDK's Node 20 notice is noise for the local hub.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const threads = options.threads ?? true;
  const onFatal =
    options.onFatal ??
    ((err: Error) => {
      console.error(`crm-bridge local hub stopped: ${err.message}`);
      process.exit(1);
    });
  try {
    // Synthesized first: the bundles are built once, before anything listens.
    const bundles =
      options.handlers === 'bundled' ? (require('./bundles') as typeof import('./bundles')).synthBundles() : undefined;
    if (bundles) {
      stops.push(async () => bundles.remove());
      console.log(`handlers: the cdk synth bundles in ${bundles.outdir}`);
    }
    const emulators = threads ? await startEmulatorsThread(onFatal) : await startEmulators();
    stops.push(() => emulators.stop());
    const { endpoints } = emulators;
    // The queue's visibility timeout follows the worker timeout as on AWS.
    const resources = await createLocalResources(
      endpoints,
      maxReceiveCount,
      visibilityTimeoutSeconds(workerTimeoutMs / 1000),
    );

    // The handlers read their configuration from env at import time, exactly as on Lambda.
    Object.assign(process.env, {
      ...localHandlerEnvironment(endpoints, resources),
      MAX_RECEIVE_COUNT: String(maxReceiveCount),
      CONNECTOR_CACHE_TTL_SECONDS: String(options.connectorCacheTtlSeconds ?? 1),
      // The demo and test services listen on loopback; link-local and metadata addresses stay refused.
      INTERNAL_TARGETS: process.env.INTERNAL_TARGETS ?? 'allow',
    });
    if (options.malwareScan) process.env.MALWARE_SCAN = options.malwareScan;
    else delete process.env.MALWARE_SCAN;
    process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
    // require, not import(): the hub runs under tsx's CommonJS hooks alone (see local/thread.ts).
    const api = require(bundles?.api ?? '../lambdas/api') as typeof import('../lambdas/api');
    const apiConcurrency = options.apiConcurrency ?? DEFAULT_API_CONCURRENCY;
    const gateway = createApiGateway(
      api.handler,
      options.apiKey,
      apiConcurrency > 0 ? { maxConcurrency: apiConcurrency } : {},
    );
    const apiPort = await listen(gateway, options.port ?? 3000);
    stops.push(() => close(gateway));

    const workerSource: WorkerThreadData = {
      region: REGION,
      sqsEndpoint: endpoints.sqs,
      queueUrl: resources.queues.jobs,
      queueArn: resources.queues.jobsArn,
      maxConcurrency: options.workerConcurrency ?? WORKER_CONCURRENCY.default,
      batchSize: options.batchSize ?? WORKER_BATCH_SIZE.default,
      functionTimeoutMs: workerTimeoutMs,
      handlerFile: bundles?.worker,
    };
    if (threads) {
      // Started after env is complete: the thread gets a copy of it.
      const workerThread = await startThread<null>(
        'worker-thread.ts',
        workerSource,
        (event) => {
          const { workerError, fatal } = event as { workerError?: string; fatal?: string };
          if (workerError !== undefined) options.onWorkerError?.(new Error(workerError));
          if (fatal !== undefined) onFatal(new Error(fatal));
        },
        { esm: true },
      );
      stops.push(() => workerThread.stop());
      // Only now: threads started later would inherit the lower priority.
      lowerThreadPriority(options.apiNice ?? DEFAULT_API_NICE);
    } else {
      const worker = require(bundles?.worker ?? '../lambdas/worker') as typeof import('../lambdas/worker');
      const poller = new SqsPoller({
        ...workerSource,
        sqs: new SQSClient({ region: REGION, endpoint: endpoints.sqs, credentials, cacheMiddleware: true }),
        handler: worker.handler,
        onError: options.onWorkerError,
      });
      poller.start();
      stops.push(() => poller.stop());
    }

    if (options.malwareScan === 'local') {
      const scanner = startScanner({
        region: REGION,
        endpoints,
        filesTable: resources.tables.files,
        bucket: resources.bucket,
        queueUrl: resources.queues.jobs,
        onError: (err) => console.error('[scanner]', err instanceof Error ? err.message : err),
      });
      stops.push(() => scanner.stop());
    }

    return {
      state: {
        baseUrl: `http://127.0.0.1:${apiPort}`,
        apiKey: options.apiKey,
        stage: STAGE,
        region: REGION,
        endpoints,
        tables: resources.tables,
        queues: { jobs: resources.queues.jobs, deadLetter: resources.queues.deadLetter },
        bucket: resources.bucket,
      },
      stop: async () => {
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}
