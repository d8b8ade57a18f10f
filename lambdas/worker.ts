import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { wrappers } from './connectors';
import { privateTargetsPolicy } from './connectors/targets';
import { nodeFetch } from './connectors/transport';
import type { WrapperDeps } from './connectors/types';
import { ConnectorStore } from './adapters/connector-store';
import { ConnectorLimiter } from './domain/connector-limits';
import { DynamoLimiterStore } from './adapters/limiter-store';
import { FileLinkRunner } from './delivery/file-link-delivery';
import { SalesforceDelivery } from './delivery/salesforce-delivery';
import { JobQueue } from './adapters/job-queue';
import { JobRunner } from './domain/job-runner';
import { safeJson } from './domain/queue-record';
import { JobStore } from './adapters/job-store';
import { S3JobDataStore } from './adapters/s3-job-data-store';
import { MessageDispatcher } from './domain/message-dispatcher';
import { ScanResultRunner } from './files/scan-result';
import { SsmSecretSource } from './adapters/secrets';
import { documentClient, dynamoDb, jobDataS3, s3, sqs } from './shared/clients';
import { ssm } from './shared/ssm-client';
import { readEnv } from './shared/env';
import { WORKER_ENV } from './contract/env';
import { DynamoFileRepository } from './adapters/file-repository';
import { MigrationRunner } from './files/migration';
import { SalesforceContent } from './connectors/salesforce/content';
import { DynamoMigrationStore } from './adapters/dynamo-migration-store';
import { DynamoMigratedFiles } from './adapters/dynamo-migrated-files';
import { S3ObjectUploader } from './adapters/s3-object-uploader';
import { jobEvents, jobMetrics } from './adapters/job-events';
import { logger } from './shared/logger';
import { RetryLaterError } from './shared/errors';

// Worker Lambda: one SQS record = one job (or one file link). Built once per cold start.
const env = readEnv(WORKER_ENV);
const connectors = new ConnectorStore(documentClient, env.CONNECTORS_TABLE, env.CONNECTOR_CACHE_TTL_SECONDS * 1000);
// Payloads and results too large for the job item are kept in the job data bucket (claim check).
const jobs = new JobStore(dynamoDb, env.JOBS_TABLE, env.JOB_TTL_DAYS, Date.now, {
  data: new S3JobDataStore(jobDataS3, env.JOB_DATA_BUCKET),
});
const queue = new JobQueue(sqs, env.JOBS_QUEUE_URL);
const secrets = new SsmSecretSource(new SSMProvider({ awsSdkV3Client: ssm }), env.STAGE, env.SECRETS_CACHE_TTL_SECONDS);
// Every upstream call checks its targets (SSRF): loopback/private addresses only as the stack allows.
const wrapperDeps: WrapperDeps = {
  secrets,
  fetch: nodeFetch,
  privateTargets: privateTargetsPolicy(env.INTERNAL_TARGETS),
};
// Deliveries into Salesforce run in this same worker, so they count against its concurrency cap (25).
const delivery = new SalesforceDelivery(connectors, wrapperDeps);
// Per-connector limits and circuit breaker: one limiter record per connector in the jobs table, shared by all instances.
const limiter = new ConnectorLimiter(new DynamoLimiterStore(dynamoDb, env.JOBS_TABLE));
const runner = new JobRunner({
  connectors,
  jobs,
  queue,
  wrappers,
  wrapperDeps,
  logger,
  delivery,
  limiter,
  events: jobEvents,
});
// The queue's redrive setting: a record failed back on this receive moves to the dead-letter queue.
const maxReceiveCount = env.MAX_RECEIVE_COUNT;
const files = new DynamoFileRepository(documentClient, env.FILES_TABLE);
// Link records of files that became AVAILABLE: the same cap, the same retry policy, the same Salesforce sessions.
const fileLinks = new FileLinkRunner({
  files,
  connectors,
  queue,
  wrapperDeps,
  logger,
});
// Malware scan results (EventBridge rule to this queue): SCANNING files become AVAILABLE or QUARANTINED.
const scanResults = new ScanResultRunner({
  files,
  bucket: env.FILES_BUCKET,
  linkQueue: queue,
  logger,
});
// Files migrations from Salesforce (POST /v1/files/migrations): batches within this invocation's time, continued by new messages.
const migrations = new MigrationRunner({
  connectors,
  sources: (connector) => new SalesforceContent(connector, wrapperDeps),
  store: new DynamoMigrationStore(documentClient, env.MIGRATIONS_TABLE),
  uploader: new S3ObjectUploader(s3, {
    bucket: env.FILES_BUCKET,
    multipartThreshold: env.MIGRATION_MULTIPART_THRESHOLD_BYTES,
    partSize: env.MIGRATION_PART_SIZE_BYTES,
  }),
  files: new DynamoMigratedFiles(documentClient, env.FILES_TABLE),
  queue,
  logger,
  malwareScan: env.MALWARE_SCAN !== '',
  batchSize: env.MIGRATION_BATCH_SIZE,
  minRemainingMs: env.MIGRATION_MIN_REMAINING_MS,
});
const dispatcher = new MessageDispatcher({
  job: (message, record, remaining) => runner.run(message, record, remaining),
  fileLink: (message, record, remaining) => fileLinks.process(message, record, remaining),
  scanResult: (message) => scanResults.process(message),
  fileMigration: (message, record, remaining) => migrations.process(message, record, remaining),
});
const processor = new BatchProcessor(EventType.SQS);

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    try {
      await dispatcher.process(record, () => context.getRemainingTimeInMillis());
    } catch (err) {
      if (err instanceof RetryLaterError) logger.info(err.message);
      else logger.error('job record failed; SQS will redeliver it', { messageId: record.messageId, error: err });
      await reportDeadLetter(record);
      throw err;
    }
  };
  try {
    // Sequential: the worker concurrency cap then equals the number of external calls in flight.
    return await processPartialResponse(event, recordHandler, processor, {
      context,
      processInParallel: false,
      throwOnFullBatchFailure: false,
    });
  } finally {
    jobMetrics.flush(); // EMF lines of this invocation
  }
};

/**
 * SQS moves a message to the dead-letter queue on the receive after its
 * maxReceiveCount-th: a record failed back on that receive is logged (and
 * counted) as dead-lettered here, the one place that knows it.
 */
async function reportDeadLetter(record: SQSRecord): Promise<void> {
  const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? 0);
  if (maxReceiveCount === 0 || receiveCount < maxReceiveCount) return;
  const body = safeJson(record.body) as { jobId?: unknown } | undefined;
  const jobId = typeof body?.jobId === 'string' ? body.jobId : `message ${record.messageId}`;
  // The connector names the metric's dimension; one read, on this rare path only.
  const job =
    typeof body?.jobId === 'string'
      ? await jobs.get(body.jobId, { payload: false, result: false }).catch(() => undefined)
      : undefined;
  jobEvents.deadLettered({
    jobId,
    receiveCount,
    ...(job && {
      connectorId: job.connectorId,
      operation: job.operation,
      ...(job.correlationId !== undefined && { correlationId: job.correlationId }),
    }),
  });
}
