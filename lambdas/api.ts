import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ConnectorStore } from './adapters/connector-store';
import { CalloutService } from './domain/callout-service';
import { JobQueue } from './adapters/job-queue';
import { JobStore } from './adapters/job-store';
import { S3JobDataStore } from './adapters/s3-job-data-store';
import { calloutRoutes } from './routes/callout-routes';
import { fileRoutes } from './routes/file-routes';
import { Router } from './routes/router';
import { migrationRoutes } from './routes/migration-routes';
import { MigrationService } from './files/migration';
import { DynamoMigrationStore } from './adapters/dynamo-migration-store';
import { documentClient, dynamoDb, jobDataS3, s3, sqs } from './shared/clients';
import { readEnv } from './shared/env';
import { CONTROLLER_ENV } from './contract/env';
import { errorResponse } from './shared/responses';
import { awsFileService } from './adapters/aws-file-service';
import { jobEvents, jobMetrics } from './adapters/job-events';
import { logger } from './shared/logger';

// Controller Lambda: validates, records the job, enqueues it, answers 202. Built once per cold start.
const env = readEnv(CONTROLLER_ENV);
const connectors = new ConnectorStore(documentClient, env.CONNECTORS_TABLE, env.CONNECTOR_CACHE_TTL_SECONDS * 1000);
// Payloads and results too large for the job item are kept in the job data bucket (claim check).
const jobs = new JobStore(dynamoDb, env.JOBS_TABLE, env.JOB_TTL_DAYS, Date.now, {
  data: new S3JobDataStore(jobDataS3, env.JOB_DATA_BUCKET),
});
const queue = new JobQueue(sqs, env.JOBS_QUEUE_URL);
const files = awsFileService(documentClient, s3, {
  tableName: env.FILES_TABLE,
  bucket: env.FILES_BUCKET,
  urlExpirySeconds: env.FILE_URL_EXPIRY_SECONDS,
  maxFileSize: env.MAX_FILE_SIZE_BYTES,
  multipartThreshold: env.MULTIPART_THRESHOLD_BYTES,
  // Files with a "link": the target connector is checked at create time, the link queued when the file becomes AVAILABLE.
  connectors,
  linkQueue: queue,
  // Set by the stack's malwareScan option (or MALWARE_SCAN=local in the local hub): files wait for their scan result.
  malwareScan: env.MALWARE_SCAN !== '',
  logger,
});
// Files migrations from Salesforce: accepted here (202), run by the worker in batches.
const migrations = new MigrationService({
  connectors,
  store: new DynamoMigrationStore(documentClient, env.MIGRATIONS_TABLE),
  queue,
});
const router = new Router([
  ...calloutRoutes(new CalloutService({ connectors, jobs, queue, logger, events: jobEvents })),
  ...fileRoutes(files),
  ...migrationRoutes(migrations),
]);

export const handler = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    return await router.handle(event);
  } catch (err) {
    return errorResponse(err, logger, event.requestContext?.requestId);
  } finally {
    jobMetrics.flush(); // EMF lines of this invocation
  }
};
