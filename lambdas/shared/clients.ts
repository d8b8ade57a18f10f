import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';

/**
 * The SDK clients, created once per process and reused across invocations.
 * Endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables, so the
 * same code talks to AWS or to the local emulators without a branch here.
 */
// cacheMiddleware reuses the resolved middleware stack per command type: about
// half the client CPU per call. lib-dynamodb's document commands cannot be
// cached that way (their handler is bound to the first command), so the
// document client gets its own uncached client; the hot path (JobStore) uses `dynamoDb`.
export const dynamoDb = new DynamoDBClient({ cacheMiddleware: true });
export const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
});
// The queue URL only names the queue; requests go to the configured endpoint
// (an emulator's queue URLs carry a host name that does not resolve).
export const sqs = new SQSClient({ useQueueUrlAsEndpoint: false, cacheMiddleware: true });
export const ssm = new SSMClient({});
// Path-style addressing and checksums only when required keep presigned URLs
// valid for plain HTTP clients (curl, browsers, Apex) and for the local emulator.
export const s3 = new S3Client({
  forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
