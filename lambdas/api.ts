import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ConnectorStore } from './domain/connector-store';
import { CalloutService } from './domain/callout-service';
import { JobQueue } from './domain/job-queue';
import { JobStore } from './domain/job-store';
import { S3JobDataStore } from './domain/s3-job-data-store';
import { calloutRoutes } from './http/callout-routes';
import { fileRoutes } from './http/file-routes';
import { migrationRoutes } from './http/migration-routes';
import { MigrationService } from './files/migration';
import { DynamoMigrationStore } from './adapters/dynamo-migration-store';
import { FileService } from './files/file-service';
import { Router } from './http/router';
import { documentClient, dynamoDb, jobDataS3, s3, sqs } from './shared/clients';
import { intEnv, requireEnv } from './shared/env';
import { errorResponse } from './shared/http';
import { jobEvents, jobMetrics } from './adapters/job-events';
import { logger } from './shared/logger';

// Controller Lambda: validates, records the job, enqueues it, answers 202. Built once per cold start.
const connectors = new ConnectorStore(documentClient, requireEnv('CONNECTORS_TABLE'), intEnv('CONNECTOR_CACHE_TTL_SECONDS', 30) * 1000);
// Payloads and results too large for the job item are kept in the job data bucket (claim check).
const jobs = new JobStore(dynamoDb, requireEnv('JOBS_TABLE'), intEnv('JOB_TTL_DAYS', 30, { min: 1 }), Date.now, { data: new S3JobDataStore(jobDataS3, requireEnv('JOB_DATA_BUCKET')) });
const queue = new JobQueue(sqs, requireEnv('JOBS_QUEUE_URL'));
const files = new FileService(documentClient, s3, {
  tableName: requireEnv('FILES_TABLE'),
  bucket: requireEnv('FILES_BUCKET'),
  urlExpirySeconds: intEnv('FILE_URL_EXPIRY_SECONDS', 900, { min: 1, max: 7 * 86_400 }),
  maxFileSize: intEnv('MAX_FILE_SIZE_BYTES', 5 * 1024 ** 4, { min: 0 }),
  multipartThreshold: intEnv('MULTIPART_THRESHOLD_BYTES', 8 * 1024 ** 2, { min: 5 * 1024 ** 2, max: 5 * 1024 ** 3 }), // S3: one PUT <= 5 GiB
  // Files with a "link": the target connector is checked at create time, the link queued when the file becomes AVAILABLE.
  connectors,
  linkQueue: queue,
  // Set by the stack's malwareScan option (or MALWARE_SCAN=local in the local hub): files wait for their scan result.
  malwareScan: Boolean(process.env.MALWARE_SCAN),
  logger,
});
// Files migrations from Salesforce: accepted here (202), run by the worker in batches.
const migrations = new MigrationService({ connectors, store: new DynamoMigrationStore(documentClient, requireEnv('MIGRATIONS_TABLE')), queue });
const router = new Router([...calloutRoutes(new CalloutService({ connectors, jobs, queue, logger, events: jobEvents })), ...fileRoutes(files), ...migrationRoutes(migrations)]);

export const handler = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    return await router.handle(event);
  } catch (err) {
    return errorResponse(err, logger, event.requestContext?.requestId);
  } finally {
    jobMetrics.flush(); // EMF lines of this invocation
  }
};
