import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { intSetting } from './env';

/**
 * The SDK clients, created once per process and reused across invocations.
 * Endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables, so the
 * same code talks to AWS or to the local emulators without a branch here.
 * Each is marked pure, so a bundle drops the clients its handler never uses (the
 * worker has no files-bucket client) and their code. The SSM client has a module of
 * its own (ssm-client.ts): a bundle that leaves the SDK external still loads every
 * package this file imports, and the controller never reads a secret.
 */
// cacheMiddleware reuses the resolved middleware stack per command type: about
// half the client CPU per call. lib-dynamodb's document commands cannot be
// cached that way (their handler is bound to the first command), so the
// document client gets its own uncached client; the hot path (JobStore) uses `dynamoDb`.
//
// Every call is bounded: a connection that hangs fails within seconds (the SDK
// then retries it) instead of running into the Lambda timeout, which would skip
// the code that records the failure (e.g. a job that could not be queued is
// marked FAILED, not left QUEUED with no message).
// (requestTimeout only warns unless throwOnRequestTimeout is set; the option is checked by a test.)
export const requestHandler = {
  connectionTimeout: intSetting('SDK_CONNECTION_TIMEOUT_MS'),
  requestTimeout: intSetting('SDK_REQUEST_TIMEOUT_MS'),
  throwOnRequestTimeout: true,
};
export const dynamoDb = /* @__PURE__ */ new DynamoDBClient({ cacheMiddleware: true, requestHandler });
export const documentClient = /* @__PURE__ */ DynamoDBDocumentClient.from(
  /* @__PURE__ */ new DynamoDBClient({ requestHandler }),
  {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  },
);
// The queue URL only names the queue; requests go to the configured endpoint
// (an emulator's queue URLs carry a host name that does not resolve).
export const sqs = /* @__PURE__ */ new SQSClient({
  useQueueUrlAsEndpoint: false,
  cacheMiddleware: true,
  requestHandler,
});
// Path-style addressing and checksums only when required keep presigned URLs
// valid for plain HTTP clients (curl, browsers, Apex) and for the local emulator.
// S3 keeps the SDK's defaults: completing a large multipart upload can legitimately take long.
export const s3 = /* @__PURE__ */ new S3Client({
  forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
// Job data (claim check: objects of at most 5 MB) is bounded like DynamoDB: a hung
// write of a result fails in seconds and is retried in the invocation, instead of
// the Lambda timing out with the outcome unrecorded. Created on first use: the
// controller of a deployment that never sees a large payload makes none.
let jobDataClient: S3Client | undefined;
export function jobDataS3(): S3Client {
  jobDataClient ??= new S3Client({
    forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler,
  });
  return jobDataClient;
}
