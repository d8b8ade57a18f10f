import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { acknowledge, acknowledgeHubFunction, wildcardResource } from '../nag';
import { bindJobData, bindJobQueue, bindTable, setResourceEnv } from './bindings';
import { daysEnv, hubFunction, secondsEnv } from './lambda-defaults';
import { INT_SETTINGS } from '../../lambdas/contract/env';
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  MAX_RECEIVE_COUNT_RULE,
  WORKER_CONCURRENCY,
  validMaxReceiveCount,
  visibilityTimeoutSeconds,
} from '../../lambdas/contract/queue';
import { STAGE_PATTERN, secretsPath } from '../../lambdas/contract/stack';

export interface JobPipelineProps {
  /** Stage name: the worker reads secrets under `/crm-bridge/<stage>/` and nowhere else. */
  readonly stage: string;
  readonly connectorsTable: ITableV2;
  readonly jobsTable: ITableV2;
  /**
   * The file metadata table: the worker reads a file and records its link's
   * progress (GetItem and UpdateItem only) when it creates a file's link record in Salesforce.
   */
  readonly filesTable: ITableV2;
  /** The claim-check bucket (JobData): the worker reads payloads and writes results there. */
  readonly jobDataBucket: IBucket;
  /**
   * Files migrations (lambdas/files/migration.ts): with the migrations table and the files bucket the worker
   * runs migration batches, writing objects under `files/` and file records. @default - no migrations
   */
  readonly migrationsTable?: ITableV2;
  readonly filesBucket?: IBucket;
  /**
   * SQS event source maximum concurrency: the cap on jobs (external calls) in
   * flight, 2-1000. Salesforce allows 25 concurrent long-running API requests per org.
   * @default 25
   */
  readonly maxConcurrency?: number;
  /**
   * Reserved concurrent executions for the worker, at least `maxConcurrency`;
   * `false` or 0 reserves none (new AWS accounts often have a total quota of 10,
   * where reserving 25 fails at deploy; `maxConcurrency` still caps the worker).
   * @default - the same as maxConcurrency
   */
  readonly reservedConcurrency?: number | false;
  /** Worker timeout; the queue's visibility timeout is 6 times this. @default Duration.seconds(60) */
  readonly workerTimeout?: Duration;
  /** @default 1024 */
  readonly workerMemorySize?: number;
  /**
   * Records per invocation (1-10). Each record is one external call, so 1 keeps
   * "invocations in flight" equal to "calls in flight" and gives each call the whole timeout.
   * @default 1
   */
  readonly batchSize?: number;
  /**
   * Receives before a message moves to the dead-letter queue, at least
   * WORST_CASE_RECEIVES (19): deferred retries of a job's call and of its
   * delivery are redeliveries.
   * @default 25 (DEFAULT_MAX_RECEIVE_COUNT: 19 plus a margin of 6 for worker crashes)
   */
  readonly maxReceiveCount?: number;
  /** How long failed messages wait in the dead-letter queue for inspection or replay. @default Duration.days(14) (the SQS maximum) */
  readonly deadLetterRetention?: Duration;
  /** CONNECTOR_CACHE_TTL_SECONDS: how long a warm worker reuses a connector row. @default Duration.seconds(30) */
  readonly connectorCacheTtl?: Duration;
  /** SECRETS_CACHE_TTL_SECONDS: how long a warm worker reuses an SSM secret. @default Duration.minutes(5) */
  readonly secretsCacheTtl?: Duration;
  /** JOB_TTL_DAYS: how long finished jobs stay readable. @default Duration.days(30) */
  readonly jobTtl?: Duration;
  /** Queues and the worker's log group. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** INTERNAL_TARGETS: connectors that opt in ("network": {"allowPrivate": true}) may call loopback/private addresses. @default false */
  readonly allowPrivateTargets?: boolean;
}

/** The job queue, its dead-letter queue, and the capped worker that consumes it. */
export class JobPipeline extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly worker: NodejsFunction;
  /** SSM path the worker may read, e.g. `/crm-bridge/dev/`. */
  readonly secretsPrefix: string;

  constructor(scope: Construct, id: string, props: JobPipelineProps) {
    super(scope, id);
    if (!STAGE_PATTERN.test(props.stage))
      throw new Error(
        `JobPipeline: stage "${props.stage}" must be 1-20 lowercase letters, digits or "-", starting with a letter`,
      );
    const maxConcurrency = props.maxConcurrency ?? WORKER_CONCURRENCY.default;
    if (
      !Number.isInteger(maxConcurrency) ||
      maxConcurrency < WORKER_CONCURRENCY.min ||
      maxConcurrency > WORKER_CONCURRENCY.max
    ) {
      throw new Error(
        `JobPipeline: maxConcurrency must be an integer from 2 to 1000 (the SQS event source range); got ${maxConcurrency}`,
      );
    }
    const reservedProp = props.reservedConcurrency === undefined ? maxConcurrency : props.reservedConcurrency;
    const reserved = reservedProp === false || reservedProp === 0 ? undefined : reservedProp;
    if (reserved !== undefined && (!Number.isInteger(reserved) || reserved < maxConcurrency)) {
      // Pollers beyond the reserved executions get throttled; throttled receives count toward the DLQ.
      throw new Error(
        `JobPipeline: reservedConcurrency (${reserved}) must be an integer >= maxConcurrency (${maxConcurrency}), or false/0 to reserve none`,
      );
    }
    const timeout = props.workerTimeout ?? Duration.seconds(60);
    const timeoutSeconds = timeout.toSeconds();
    // 900 s is Lambda's limit; 6 x 900 s stays under SQS's 12-hour visibility limit.
    if (timeoutSeconds < 1 || timeoutSeconds > 900)
      throw new Error(`JobPipeline: workerTimeout must be 1-900 seconds; got ${timeoutSeconds}`);
    const batchSize = props.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10)
      throw new Error(`JobPipeline: batchSize must be an integer from 1 to 10; got ${batchSize}`);
    const maxReceiveCount = props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
    if (!validMaxReceiveCount(maxReceiveCount)) {
      throw new Error(`JobPipeline: maxReceiveCount ${MAX_RECEIVE_COUNT_RULE}; got ${maxReceiveCount}`);
    }
    const dlqRetention = props.deadLetterRetention ?? Duration.days(14);
    if (dlqRetention.toSeconds() < 60 || dlqRetention.toSeconds() > Duration.days(14).toSeconds())
      throw new Error('JobPipeline: deadLetterRetention must be from 1 minute to 14 days');
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: dlqRetention,
      removalPolicy,
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's guidance for Lambda consumers: at least 6x the function timeout, so retries
      // of a throttled or slow batch do not make the message visible while it is still running.
      visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds(timeoutSeconds)),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      removalPolicy,
    });

    this.secretsPrefix = secretsPath(props.stage);
    this.worker = hubFunction(this, 'Worker', {
      entry: 'lambdas/worker.ts',
      description: 'crm-bridge worker: runs queued jobs through connector wrappers',
      timeout,
      memorySize: props.workerMemorySize,
      reservedConcurrentExecutions: reserved,
      removalPolicy,
      // Settings (lambdas/contract/env.ts, WORKER_ENV); each resource below comes with its grant.
      environment: {
        STAGE: props.stage,
        CONNECTOR_CACHE_TTL_SECONDS: secondsEnv(
          'JobPipeline: connectorCacheTtl',
          props.connectorCacheTtl ?? Duration.seconds(INT_SETTINGS.CONNECTOR_CACHE_TTL_SECONDS.default),
          'CONNECTOR_CACHE_TTL_SECONDS',
        ),
        SECRETS_CACHE_TTL_SECONDS: secondsEnv(
          'JobPipeline: secretsCacheTtl',
          props.secretsCacheTtl ?? Duration.seconds(INT_SETTINGS.SECRETS_CACHE_TTL_SECONDS.default),
          'SECRETS_CACHE_TTL_SECONDS',
        ),
        JOB_TTL_DAYS: daysEnv('JobPipeline: jobTtl', props.jobTtl ?? Duration.days(INT_SETTINGS.JOB_TTL_DAYS.default)),
        INTERNAL_TARGETS: props.allowPrivateTargets ? 'opt-in' : 'refuse',
        // The worker logs a message failed on its last receive as dead-lettered.
        MAX_RECEIVE_COUNT: String(maxReceiveCount),
      },
    });
    this.worker.addEventSource(
      new SqsEventSource(this.queue, { batchSize, maxConcurrency, reportBatchItemFailures: true }),
    );

    // Exactly what lambdas/worker.ts's code paths call: ConnectorStore.get, and JobStore's
    // get (GetItem) and run transitions (UpdateItem). Jobs are created, and idempotency
    // keys claimed and freed, by the controller: no Put, Delete, Scan or batch calls here.
    bindTable(this.worker, 'CONNECTORS_TABLE', props.connectorsTable, {
      sid: 'ReadConnectors',
      actions: ['dynamodb:GetItem'],
    });
    bindTable(this.worker, 'JOBS_TABLE', props.jobsTable, {
      sid: 'RunJobs',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    });
    bindJobData(this.worker, props.jobDataBucket, 'worker');
    // File links: read the file, write its `link` attribute. No Put, Delete, Query or Scan, no index, no bucket.
    bindTable(this.worker, 'FILES_TABLE', props.filesTable, {
      sid: 'FileLinks',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    });
    // Deferred retries hide the message for the backoff delay instead of sleeping in the function.
    bindJobQueue(this.worker, this.queue, 'changeVisibility');
    const secretsArn = Stack.of(this).formatArn({
      service: 'ssm',
      resource: 'parameter',
      resourceName: `crm-bridge/${props.stage}/*`,
    });
    this.worker.addToRolePolicy(
      new PolicyStatement({
        sid: 'ReadConnectorSecrets',
        actions: ['ssm:GetParameter', 'ssm:GetParameters'],
        resources: [secretsArn],
      }),
    );
    acknowledgeHubFunction(this.worker);
    acknowledge(this.worker, {
      [wildcardResource(this, secretsArn)]:
        "Connectors are rows added at run time, so their secrets' names are not known at deploy time; the worker may read (not write) parameters under this stage's path only",
    });
    if (props.migrationsTable && props.filesBucket)
      this.grantMigrations(props.migrationsTable, props.filesBucket, props.filesTable);
  }

  /**
   * Files migrations run in this worker (within its cap): exactly what MigrationRunner and its
   * adapters call. The migration's state, audit rows and copy markers (no Scan, no Delete);
   * new file records (Put; the link delivery's Get/Update are granted above); the objects
   * under files/ (one PUT or multipart, HeadObject to check the size; no Delete, no listing);
   * and sending to its own queue: the next batch and each new file's link.
   */
  private grantMigrations(migrationsTable: ITableV2, filesBucket: IBucket, filesTable: ITableV2): void {
    bindTable(this.worker, 'MIGRATIONS_TABLE', migrationsTable, {
      sid: 'Migrations',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
    });
    setResourceEnv(this.worker, 'FILES_BUCKET', filesBucket.bucketName);
    // Batch size, time left to start a file, PUT/part sizes: the contract's defaults (lambdas/contract/env.ts, MIGRATION_*).
    for (const setting of [
      'MIGRATION_BATCH_SIZE',
      'MIGRATION_MIN_REMAINING_MS',
      'MIGRATION_MULTIPART_THRESHOLD_BYTES',
      'MIGRATION_PART_SIZE_BYTES',
    ] as const) {
      this.worker.addEnvironment(setting, String(INT_SETTINGS[setting].default));
    }
    this.worker.addToRolePolicy(
      new PolicyStatement({ sid: 'MigratedFiles', actions: ['dynamodb:PutItem'], resources: [filesTable.tableArn] }),
    );
    const objects = filesBucket.arnForObjects('files/*');
    this.worker.addToRolePolicy(
      new PolicyStatement({
        sid: 'MigratedObjects',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject'],
        resources: [objects],
      }),
    );
    filesBucket.encryptionKey?.grantEncrypt(this.worker);
    this.queue.grantSendMessages(this.worker);
    acknowledge(this.worker, {
      [wildcardResource(this, objects)]:
        'Migrated file objects are keyed by file ids made per file at run time; the worker may write (not delete or list) objects under files/ of this one bucket',
    });
  }
}
