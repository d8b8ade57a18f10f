import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { lambdaFunction } from './lambda-defaults';

export interface JobQueueProps {
  readonly stage: string;
  readonly connectorsTable: ITableV2;
  readonly jobsTable: ITableV2;
  /**
   * SQS event source maximum concurrency: the cap on jobs in flight (2-1000).
   * @default 25 (Salesforce allows 25 concurrent long-running API requests per org)
   */
  readonly maxConcurrency?: number;
  /**
   * Reserved concurrent executions for the worker; undefined reserves none
   * (new AWS accounts often have a total quota of 10, so reserving 25 fails).
   * @default 25
   */
  readonly reservedConcurrency?: number;
  /** @default Duration.seconds(60) */
  readonly workerTimeout?: Duration;
  /**
   * Records per invocation. Each record is one external call, so 1 makes
   * "invocations in flight" equal "calls in flight" and gives each call the whole timeout.
   * @default 1
   */
  readonly batchSize?: number;
  /**
   * Receives before a message goes to the dead-letter queue. Must exceed the
   * largest connector retry.maxAttempts (10): deferred retries are redeliveries.
   * @default 15
   */
  readonly maxReceiveCount?: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The job queue, its dead-letter queue, and the capped worker that consumes it. */
export class JobQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly worker: NodejsFunction;

  constructor(scope: Construct, id: string, props: JobQueueProps) {
    super(scope, id);
    const maxConcurrency = props.maxConcurrency ?? 25;
    const reserved = 'reservedConcurrency' in props ? props.reservedConcurrency : 25;
    const timeout = props.workerTimeout ?? Duration.seconds(60);
    const batchSize = props.batchSize ?? 1;
    const maxReceiveCount = props.maxReceiveCount ?? 15;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) throw new Error(`JobQueue: maxConcurrency must be an integer from 2 to 1000, got ${maxConcurrency}`);
    if (reserved !== undefined && reserved < maxConcurrency) throw new Error(`JobQueue: reservedConcurrency (${reserved}) must be >= maxConcurrency (${maxConcurrency}), or undefined`);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) throw new Error(`JobQueue: batchSize must be 1-10, got ${batchSize}`);
    if (maxReceiveCount <= 10) throw new Error(`JobQueue: maxReceiveCount must exceed 10 (the largest retry.maxAttempts), got ${maxReceiveCount}`);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's guidance for Lambda consumers: at least 6x the function timeout.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      removalPolicy,
    });

    this.worker = lambdaFunction(this, 'Worker', 'lambdas/worker.ts', {
      description: 'crm-bridge worker: runs queued jobs through connector wrappers',
      timeout,
      reservedConcurrentExecutions: reserved,
      removalPolicy,
      environment: {
        STAGE: props.stage,
        CONNECTORS_TABLE: props.connectorsTable.tableName,
        JOBS_TABLE: props.jobsTable.tableName,
        JOBS_QUEUE_URL: this.queue.queueUrl,
        CONNECTOR_CACHE_TTL_SECONDS: '30',
        SECRETS_CACHE_TTL_SECONDS: '300',
        JOB_TTL_DAYS: '30',
      },
    });
    this.worker.addEventSource(new SqsEventSource(this.queue, { batchSize, maxConcurrency, reportBatchItemFailures: true }));
    props.connectorsTable.grantReadData(this.worker);
    props.jobsTable.grantReadWriteData(this.worker);
    // Deferred retries hide the message for the wait (ChangeMessageVisibility).
    this.queue.grant(this.worker, 'sqs:ChangeMessageVisibility');
    const stack = Stack.of(this);
    this.worker.addToRolePolicy(
      new PolicyStatement({
        sid: 'ReadConnectorSecrets',
        actions: ['ssm:GetParameter', 'ssm:GetParameters'],
        resources: [stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: `crm-bridge/${props.stage}/*` })],
      }),
    );
  }
}
