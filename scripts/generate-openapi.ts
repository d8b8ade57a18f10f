import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenAPIV3 } from 'openapi-types';
import { z } from 'zod';
import {
  calloutBodySchema,
  calloutParamsSchema,
  headerValue,
  jobParamsSchema,
  listJobsQuerySchema,
} from '../lambdas/routes/callout-routes';
import {
  completeFileSchema,
  createFileSchema,
  fileParams,
  listFilesQuerySchema,
  refreshPartsSchema,
} from '../lambdas/routes/file-routes';
import { createMigrationSchema, migrationAuditQuerySchema, migrationParams } from '../lambdas/routes/migration-routes';

/**
 * Writes docs/openapi.json: the v1 HTTP API as OpenAPI 3.0.3, importable as a
 * Salesforce External Service. Request bodies, path and query parameters and
 * headers come from the zod schemas the handlers validate with, so the document
 * cannot drift from what the API accepts. `node --import tsx scripts/generate-openapi.ts`
 * regenerates it; a unit test fails when the committed copy is stale.
 *
 * OpenAPI 3.0 rather than 3.1 because External Services reads 2.0 and 3.0 only.
 * No oneOf/anyOf/discriminators and no response headers (External Services ignores
 * or rejects them); "any JSON" is a schema without a type, which External Services
 * maps to an Apex Object.
 */

// ---- Responses: the handlers build these with plain objects (jobView, fileView), so
// they are described here with zod too, and a test parses real handler output with them.

const jobStatusSchema = z.enum(['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED']);

export const calloutAcceptedSchema = z.object({
  jobId: z.string().describe('Job identifier; read the job with GET /v1/jobs/{jobId}'),
  status: z.literal('QUEUED'),
  statusUrl: z.string().describe('Path of the job, relative to the API base URL (also sent as the Location header)'),
});

export const jobErrorSchema = z.object({
  code: z.string().describe('Stable error code, e.g. UPSTREAM_HTTP_ERROR, UPSTREAM_TIMEOUT, SECRET_NOT_FOUND'),
  message: z.string(),
  retryable: z.boolean().describe('Whether the hub considered the failure transient'),
  statusCode: z.number().int().optional().describe('HTTP status the external service answered, when there was one'),
});

export const jobResultSchema = z.object({
  statusCode: z.number().int().describe('Status reported by the external service (200 for protocols without one)'),
  data: z.unknown().describe('The parsed answer: JSON, parsed XML, or text'),
});

export const deliverySchema = z.object({
  status: z
    .enum(['PENDING', 'DELIVERED', 'FAILED'])
    .describe('Delivery of the outcome into Salesforce (record update and/or Platform Event), retried on its own'),
  attempts: z.number().int().describe('Delivery calls made to Salesforce'),
  error: jobErrorSchema.optional().describe('The last delivery failure'),
  nextAttemptAt: z
    .string()
    .optional()
    .describe('When the next delivery attempt is due (ISO 8601), while PENDING after a failure'),
  deliveredAt: z.string().optional().describe('ISO 8601 timestamp'),
});

export const jobSchema = z.object({
  jobId: z.string(),
  connectorId: z.string(),
  operation: z.string(),
  status: jobStatusSchema.describe('QUEUED and RUNNING are in progress; SUCCEEDED and FAILED are final'),
  attempts: z.number().int().describe('Calls made to the external service so far'),
  createdAt: z.string().describe('ISO 8601 timestamp'),
  updatedAt: z.string().describe('ISO 8601 timestamp'),
  recordId: z.string().optional(),
  correlationId: z.string().optional(),
  result: jobResultSchema.optional().describe('Present when SUCCEEDED'),
  error: jobErrorSchema.optional().describe('Present when FAILED, or the last failure while a retry waits'),
  nextAttemptAt: z
    .string()
    .optional()
    .describe('When a deferred retry is due (ISO 8601), while the job waits in the queue'),
  waiting: z
    .object({
      reason: z.enum(['CIRCUIT_OPEN', 'RATE_LIMIT', 'CONCURRENCY_LIMIT']),
      until: z.string().optional().describe('When the job looks again (ISO 8601)'),
    })
    .optional()
    .describe("While QUEUED behind its connector's limits or open circuit breaker (no attempt is used)"),
  delivery: deliverySchema.optional().describe('Present when the operation declares a delivery into Salesforce'),
  history: z
    .array(
      z.object({
        attempts: z.number().int().describe('Calls made in that run'),
        error: jobErrorSchema.optional().describe('How that run failed'),
        endedAt: z.string().describe('ISO 8601 timestamp'),
      }),
    )
    .optional()
    .describe('Earlier runs of a retried job (POST /v1/jobs/{jobId}/retry), oldest first; the last 10 are kept'),
});

export const jobListSchema = z.object({
  jobs: z
    .array(jobSchema.omit({ result: true }))
    .describe('Newest first; without results (read one job for its result)'),
  nextToken: z.string().optional().describe('Pass to the next request (with the same filters) to read the next page'),
});

export const healthSchema = z.object({ status: z.literal('ok') });

/** Byte counts: files go up to 5 TiB. */
const bytes = () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const partUrlSchema = z.object({ partNumber: z.number().int(), url: z.string() });

export const uploadSchema = z.object({
  method: z.literal('PUT').optional().describe('Single upload: PUT the whole file to url with these headers'),
  url: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  partSize: bytes()
    .optional()
    .describe(
      "Multipart upload: PUT each part (partSize bytes, the last one shorter) to its URL and keep each answer's ETag",
    ),
  partCount: z
    .number()
    .int()
    .optional()
    .describe('Multipart: how many parts the file has (parts may list fewer when the request set partUrls)'),
  parts: z.array(partUrlSchema).optional(),
});

export const fileLinkSchema = z.object({
  connectorId: z.string().describe('The salesforce connector whose fileLink creates the link record'),
  status: z
    .enum(['WAITING_FOR_UPLOAD', 'PENDING', 'DELIVERED', 'FAILED'])
    .describe(
      'WAITING_FOR_UPLOAD until the file is AVAILABLE; PENDING while queued or while a retry waits; DELIVERED or FAILED are final',
    ),
  attempts: z.number().int().describe('Upsert calls made to Salesforce'),
  error: jobErrorSchema
    .optional()
    .describe('The last failure (QUEUE_UNAVAILABLE: complete the file again to queue the link once more)'),
  salesforceId: z.string().optional().describe('Id of the link record, when DELIVERED'),
  deliveredAt: z.string().optional().describe('ISO 8601 timestamp'),
  nextAttemptAt: z
    .string()
    .optional()
    .describe('When the next attempt is due (ISO 8601), while PENDING after a failure'),
});

export const fileCreatedSchema = z.object({
  fileId: z.string(),
  status: z.literal('PENDING'),
  upload: uploadSchema.describe('Either method/url/headers (single PUT) or partSize/parts (multipart)'),
  link: fileLinkSchema.optional().describe('Present when the request asked for a link record'),
});

export const fileSchema = z.object({
  fileId: z.string(),
  fileName: z.string(),
  contentType: z.string(),
  size: bytes(),
  status: z
    .enum(['PENDING', 'SCANNING', 'AVAILABLE', 'QUARANTINED', 'SCAN_FAILED'])
    .describe('SCANNING, QUARANTINED and SCAN_FAILED only with malware scanning on (docs/files.md#malware-scanning)'),
  scanResult: z.string().optional().describe('The malware scan result (GuardDutyMalwareScanStatus), once scanned'),
  recordId: z.string().optional(),
  uploadedBy: z.string().optional(),
  createdAt: z.string(),
  downloadUrl: z.string().optional().describe('Presigned GET URL, when AVAILABLE; it expires'),
  link: fileLinkSchema.optional().describe('The link record in Salesforce, when the file was created with "link"'),
});

export const fileListSchema = z.object({
  files: z.array(fileSchema),
  nextToken: z.string().optional().describe('Pass to the next request to read the next page'),
});

export const partUrlsSchema = z.object({ partSize: bytes(), parts: z.array(partUrlSchema) });

export const migrationAcceptedSchema = z.object({
  migrationId: z.string().describe('Read the migration with GET /v1/files/migrations/{migrationId}'),
  status: z.literal('QUEUED'),
  statusUrl: z
    .string()
    .describe('Path of the migration, relative to the API base URL (also sent as the Location header)'),
});

export const migrationSchema = z.object({
  migrationId: z.string(),
  connectorId: z.string(),
  where: z.string().describe('The condition as checked and run (canonical form)'),
  dryRun: z.boolean(),
  deleteAfterCopy: z.boolean(),
  status: jobStatusSchema.describe(
    'QUEUED and RUNNING are in progress; SUCCEEDED (files may have failed: see counts.failed) and FAILED are final',
  ),
  phase: z
    .enum(['COPY', 'DELETE'])
    .describe('COPY: files are copied; DELETE: copied documents wait for their link records, then are deleted'),
  counts: z.object({
    considered: z.number().int().describe('Latest versions the condition matched and the migration looked at'),
    moved: z.number().int(),
    wouldMove: z.number().int().describe('Dry run: files that would move'),
    skipped: z.number().int().describe('Moved by an earlier run, or linked to no record'),
    failed: z.number().int(),
    deleted: z.number().int(),
    bytes: bytes().describe('Bytes moved (dry run: that would move)'),
    bytesFreed: bytes().describe(
      "Bytes of the deleted documents' latest versions (dry run: what deleteAfterCopy would free)",
    ),
    fileRecords: z.number().int().describe('File records created, one per linked record'),
  }),
  createdAt: z.string(),
  updatedAt: z.string(),
  endedAt: z.string().optional(),
  error: jobErrorSchema
    .optional()
    .describe('Why the migration as a whole failed (e.g. CONNECTOR_DISABLED, a Salesforce login or query error)'),
  statusUrl: z.string(),
});

export const migrationFileSchema = z.object({
  contentVersionId: z.string(),
  contentDocumentId: z.string(),
  title: z.string(),
  size: bytes().describe('ContentVersion.ContentSize'),
  checksum: z.string().optional().describe('ContentVersion.Checksum (MD5, hex)'),
  md5: z.string().optional().describe('MD5 of the bytes read from Salesforce'),
  fileIds: z.array(z.string()).describe('The file records made (one per linked record; they share one object)'),
  recordIds: z
    .array(z.string())
    .describe('The records the document is linked to (users, libraries and groups left out)'),
  status: z.enum(['WOULD_MOVE', 'MOVED', 'DELETED', 'SKIPPED', 'FAILED']),
  reason: z
    .object({ code: z.string(), message: z.string() })
    .optional()
    .describe('Why it failed, was skipped, or was moved but not deleted'),
  deletePending: z
    .boolean()
    .optional()
    .describe('MOVED with deleteAfterCopy: the document is deleted once its link records exist'),
  at: z.string(),
});

export const migrationFileListSchema = z.object({
  files: z.array(migrationFileSchema).describe('One audit row per ContentVersion, in Id order'),
  nextToken: z.string().optional(),
});

export const errorResponseSchema = z.object({
  error: z.object({
    code: z.string().describe('Stable UPPER_SNAKE_CASE code'),
    message: z.string().describe('What went wrong and what to do, for an admin'),
    requestId: z.string().optional().describe('On 5xx answers: quote it to the hub operator'),
  }),
});

// ---- Conversion

type Schema = OpenAPIV3.SchemaObject;

const INT32_MAX = 2 ** 31 - 1;

/**
 * zod bounds every .int() by +/-MAX_SAFE_INTEGER; those are not API limits, so they
 * go. An integer that may exceed 32 bits gets format int64, which External Services
 * maps to an Apex Long instead of an Integer (file sizes over 2 GiB).
 */
function tidyIntegers(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(tidyIntegers);
  if (!node || typeof node !== 'object') return;
  const s = node as Record<string, unknown>;
  if (s.type === 'integer') {
    if (s.minimum === -Number.MAX_SAFE_INTEGER && s.maximum === Number.MAX_SAFE_INTEGER) {
      delete s.minimum;
      delete s.maximum;
    }
    if (typeof s.maximum === 'number' && s.maximum > INT32_MAX) s.format = 'int64';
  }
  Object.values(s).forEach(tidyIntegers);
}

function schemaOf(schema: z.ZodType): Schema {
  // io "input": request schemas keep their defaults optional and response objects stay open to new fields.
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'throw' }) as Record<
    string,
    unknown
  >;
  delete json.$schema;
  tidyIntegers(json);
  return json;
}

/** Descriptions for properties whose zod schema is shared with the handlers and carries none. */
function describeProperties(schema: Schema, descriptions: Record<string, string>): Schema {
  for (const [name, description] of Object.entries(descriptions)) {
    const property = schema.properties?.[name] as Schema | undefined;
    if (!property) throw new Error(`describeProperties: no property "${name}"`);
    property.description ??= description;
  }
  return schema;
}

function ref(name: string): OpenAPIV3.ReferenceObject {
  return { $ref: `#/components/schemas/${name}` };
}

function jsonContent(schema: OpenAPIV3.ReferenceObject | Schema): { 'application/json': OpenAPIV3.MediaTypeObject } {
  return { 'application/json': { schema } };
}

/** Parameters from a zod object schema: one per property, required as the schema says. */
function parametersOf(
  where: 'path' | 'query',
  schema: z.ZodObject,
  descriptions: Record<string, string> = {},
): OpenAPIV3.ParameterObject[] {
  const json = schemaOf(schema);
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(descriptions[name] && { description: descriptions[name] }),
    schema: property as Schema,
  }));
}

/** Error answers shared by the operations; each lists the codes it can carry. */
const ERROR_RESPONSES: Record<string, { status: string; description: string }> = {
  BadRequest: {
    status: '400',
    description:
      'INVALID_REQUEST: malformed JSON, wrong shape, unknown field, or a bad value in the path (including malformed percent-encoding), query (including a nextToken of another listing) or a header; INVALID_PAYLOAD: a JSON body the hub cannot store (a number outside the range DynamoDB stores, a __proto__/constructor/prototype key, more than 32 levels of nesting, text that is not well-formed Unicode); FILE_LINK_NOT_CONFIGURED: a file link names a connector that is not a salesforce connector with fileLink',
  },
  Unauthorized: { status: '401', description: 'UNAUTHORIZED: no credentials (local hub: missing x-api-key)' },
  Forbidden: {
    status: '403',
    description: "FORBIDDEN: the signature, the API key or the caller's IAM permissions were refused",
  },
  NotFound: {
    status: '404',
    description: 'CONNECTOR_NOT_FOUND, OPERATION_NOT_FOUND, JOB_NOT_FOUND, FILE_NOT_FOUND or ROUTE_NOT_FOUND',
  },
  Conflict: {
    status: '409',
    description:
      'CONNECTOR_DISABLED, CONNECTOR_INVALID, IDEMPOTENCY_KEY_REUSED, SIZE_MISMATCH, FILE_NOT_AVAILABLE, FILE_QUARANTINED or JOB_NOT_RETRYABLE',
  },
  PayloadTooLarge: {
    status: '413',
    description:
      'PAYLOAD_TOO_LARGE (payload over 5 MB (5242880 bytes) as JSON, or request body over 5 MB + 64 KB: send large content as a file) or FILE_TOO_LARGE',
  },
  TooManyRequests: {
    status: '429',
    description: "THROTTLED or QUOTA_EXCEEDED (API Gateway throttling or the API key's usage plan): retry later",
  },
  InternalError: { status: '500', description: 'INTERNAL_ERROR, with a requestId to quote to the hub operator' },
  ServiceUnavailable: {
    status: '503',
    description:
      'QUEUE_UNAVAILABLE: the job could not be queued (it is recorded as FAILED and the Idempotency-Key is freed; a retried job is FAILED again): retry',
  },
};

type ErrorName = keyof typeof ERROR_RESPONSES;

function responses(success: OpenAPIV3.ResponsesObject, errors: ErrorName[]): OpenAPIV3.ResponsesObject {
  const all: OpenAPIV3.ResponsesObject = { ...success };
  for (const name of errors) all[ERROR_RESPONSES[name]!.status] = { $ref: `#/components/responses/${name}` };
  return all;
}

const COMMON_ERRORS: ErrorName[] = ['BadRequest', 'Unauthorized', 'Forbidden', 'TooManyRequests', 'InternalError'];

export function openApiDocument(): OpenAPIV3.Document {
  const calloutParams = parametersOf('path', calloutParamsSchema, {
    connectorId: 'A registered connector (crm-bridge connectors list)',
    operation: "One of the connector's operations",
  });
  const jobParams = parametersOf('path', jobParamsSchema);
  const fileIdParams = parametersOf('path', fileParams);
  const migrationIdParams = parametersOf('path', migrationParams);
  const header = schemaOf(headerValue);

  return {
    openapi: '3.0.3',
    info: {
      title: 'crm-bridge API',
      version: '1.0.0',
      description:
        'Lets Salesforce call any registered external service through one API. A callout is accepted at once (202 with a job id) and runs in AWS; read its outcome with GET /v1/jobs/{jobId} or receive it in Salesforce (record update or Callout_Result__e Platform Event). Every error answer is {"error":{"code","message"}}. Setup: docs/salesforce-setup.md.',
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com/{stage}',
        description: 'The stack output ApiUrl. In Salesforce the Named Credential URL takes its place.',
        variables: {
          apiId: { default: 'replace-with-api-id' },
          region: { default: 'us-east-1' },
          stage: { default: 'dev' },
        },
      },
      { url: 'http://127.0.0.1:3000', description: 'Local hub (npm start), x-api-key authentication' },
    ],
    security: [{ awsSigV4: [] }, { apiKey: [] }],
    tags: [
      { name: 'callouts', description: 'Submit callouts and read jobs' },
      { name: 'files', description: 'Files in S3 through presigned URLs' },
      { name: 'migrations', description: 'Move existing Salesforce Files into the hub' },
      { name: 'health', description: 'Liveness' },
    ],
    paths: {
      '/v1/health': {
        get: {
          operationId: 'getHealth',
          tags: ['health'],
          summary: 'Liveness check (no authentication)',
          security: [],
          responses: responses({ '200': { description: 'The API is up', content: jsonContent(ref('Health')) } }, [
            'InternalError',
          ]),
        },
      },
      '/v1/callouts/{connectorId}/{operation}': {
        post: {
          operationId: 'submitCallout',
          tags: ['callouts'],
          summary: 'Submit a callout to a connector operation',
          description:
            'Validates and records a job, queues it and answers 202; the external service is called afterwards. The same Idempotency-Key with the same body returns the same job; with a different body, 409 IDEMPOTENCY_KEY_REUSED.',
          parameters: [
            ...calloutParams,
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'Makes resubmission safe: the same key and body return the first job',
              schema: header,
            },
            {
              name: 'X-Correlation-Id',
              in: 'header',
              required: false,
              description: "Your own id, stored on the job and in the hub's logs",
              schema: header,
            },
            {
              name: 'traceparent',
              in: 'header',
              required: false,
              description:
                'W3C Trace Context (00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>): kept on the job and sent to the service on every call (REST, SOAP, Slack, Viber, Salesforce) with the same trace id and flags and a new span id. Absent or invalid: the hub starts a trace',
              schema: header,
            },
          ],
          requestBody: { required: true, content: jsonContent(ref('CalloutRequest')) },
          responses: responses(
            {
              '202': {
                description: 'Accepted: the job is queued (the Location header holds statusUrl)',
                content: jsonContent(ref('CalloutAccepted')),
              },
            },
            [...COMMON_ERRORS, 'NotFound', 'Conflict', 'PayloadTooLarge', 'ServiceUnavailable'],
          ),
        },
      },
      '/v1/jobs': {
        get: {
          operationId: 'listJobs',
          tags: ['callouts'],
          summary: 'List jobs by connector and/or status, newest first',
          description:
            'Give connectorId, status or both (400 INVALID_REQUEST otherwise). A page may hold fewer than limit jobs and still carry a nextToken.',
          parameters: parametersOf('query', listJobsQuerySchema, {
            connectorId: 'Jobs of this connector',
            status: 'Jobs in this status',
            limit: 'Page size (1-100, default 50)',
            nextToken: 'From the previous page',
          }),
          responses: responses(
            { '200': { description: 'A page of jobs', content: jsonContent(ref('JobList')) } },
            COMMON_ERRORS,
          ),
        },
      },
      '/v1/jobs/{jobId}/retry': {
        post: {
          operationId: 'retryJob',
          tags: ['callouts'],
          summary: 'Run a FAILED job again',
          description:
            'The same job is queued again with a fresh attempt budget (attempts from 0, no error); the run that failed is kept in its history. Only a FAILED job whose failure is not still being delivered: otherwise 409 JOB_NOT_RETRYABLE.',
          parameters: jobParams,
          responses: responses(
            {
              '202': {
                description: 'Queued again (the Location header holds statusUrl)',
                content: jsonContent(ref('CalloutAccepted')),
              },
            },
            [...COMMON_ERRORS, 'NotFound', 'Conflict', 'ServiceUnavailable'],
          ),
        },
      },
      '/v1/jobs/{jobId}': {
        get: {
          operationId: 'getJob',
          tags: ['callouts'],
          summary: 'Read a job: status, attempts, result or error',
          parameters: jobParams,
          responses: responses({ '200': { description: 'The job', content: jsonContent(ref('Job')) } }, [
            ...COMMON_ERRORS,
            'NotFound',
          ]),
        },
      },
      '/v1/files': {
        post: {
          operationId: 'createFile',
          tags: ['files'],
          summary: 'Start an upload: answers the presigned URL(s) to PUT the bytes to',
          description:
            'With "link": {"connectorId"} (and a Salesforce recordId), a link record is created in Salesforce through that connector\'s fileLink once the file is AVAILABLE; the file shows its progress as "link".',
          requestBody: { required: true, content: jsonContent(ref('CreateFileRequest')) },
          responses: responses(
            {
              '201': {
                description: 'The file record (PENDING) and where to upload',
                content: jsonContent(ref('FileCreated')),
              },
            },
            [...COMMON_ERRORS, 'NotFound', 'Conflict', 'PayloadTooLarge'],
          ),
        },
        get: {
          operationId: 'listFiles',
          tags: ['files'],
          summary: 'List the files of a record',
          parameters: parametersOf('query', listFilesQuerySchema, {
            recordId: 'The CRM record the files belong to',
            nextToken: 'From the previous page',
            order: 'oldest (default) or newest first, by createdAt',
          }),
          responses: responses(
            { '200': { description: 'A page of files', content: jsonContent(ref('FileList')) } },
            COMMON_ERRORS,
          ),
        },
      },
      '/v1/files/{fileId}': {
        get: {
          operationId: 'getFile',
          tags: ['files'],
          summary: 'Read a file record (with a downloadUrl when AVAILABLE)',
          parameters: fileIdParams,
          responses: responses({ '200': { description: 'The file', content: jsonContent(ref('File')) } }, [
            ...COMMON_ERRORS,
            'NotFound',
          ]),
        },
        delete: {
          operationId: 'deleteFile',
          tags: ['files'],
          summary: 'Delete a file and its bytes',
          parameters: fileIdParams,
          responses: responses({ '204': { description: 'Deleted' } }, [...COMMON_ERRORS, 'NotFound']),
        },
      },
      '/v1/files/{fileId}/complete': {
        post: {
          operationId: 'completeFile',
          tags: ['files'],
          summary: 'Finish an upload; checks the stored size and makes the file AVAILABLE',
          description:
            'Send {} after a single PUT, or {"parts":[{"partNumber","etag"}]} with every part after a multipart upload. Completing twice is harmless.',
          parameters: fileIdParams,
          requestBody: { required: false, content: jsonContent(ref('CompleteFileRequest')) },
          responses: responses({ '200': { description: 'The file, AVAILABLE', content: jsonContent(ref('File')) } }, [
            ...COMMON_ERRORS,
            'NotFound',
            'Conflict',
          ]),
        },
      },
      '/v1/files/{fileId}/parts': {
        post: {
          operationId: 'refreshFileParts',
          tags: ['files'],
          summary: 'Fresh upload URLs for parts of a pending multipart upload (to resume after the first ones expired)',
          parameters: fileIdParams,
          requestBody: { required: true, content: jsonContent(ref('RefreshPartsRequest')) },
          responses: responses({ '200': { description: 'New part URLs', content: jsonContent(ref('PartUrls')) } }, [
            ...COMMON_ERRORS,
            'NotFound',
            'Conflict',
          ]),
        },
      },
      '/v1/files/migrations': {
        post: {
          operationId: 'createFileMigration',
          tags: ['migrations'],
          summary:
            'Move existing Salesforce Files (latest ContentVersions matching "where") to S3; run by the worker in batches',
          description:
            'The connector must be an enabled salesforce connector with fileLink. "where" is a condition on ContentVersion fields (comparisons, LIKE, IN, AND/OR/NOT, parentheses; no subqueries, no parent fields, no semicolons, at most 1000 characters), checked and stored in canonical form. Each file is streamed into one object, its size and MD5 checked against ContentSize and Checksum, then recorded once per linked record with a link record; with deleteAfterCopy its ContentDocument is deleted once every link record exists. Files moved by an earlier migration are skipped.',
          requestBody: { required: true, content: jsonContent(ref('CreateMigrationRequest')) },
          responses: responses(
            {
              '202': {
                description: 'Queued (the Location header holds statusUrl)',
                content: jsonContent(ref('MigrationAccepted')),
              },
            },
            [...COMMON_ERRORS, 'NotFound', 'Conflict', 'ServiceUnavailable'],
          ),
        },
      },
      '/v1/files/migrations/{migrationId}': {
        get: {
          operationId: 'getFileMigration',
          tags: ['migrations'],
          summary: 'Read a migration: status, phase and counts',
          parameters: migrationIdParams,
          responses: responses({ '200': { description: 'The migration', content: jsonContent(ref('Migration')) } }, [
            ...COMMON_ERRORS,
            'NotFound',
          ]),
        },
      },
      '/v1/files/migrations/{migrationId}/files': {
        get: {
          operationId: 'listFileMigrationFiles',
          tags: ['migrations'],
          summary: 'The audit rows of a migration, one per ContentVersion',
          parameters: [
            ...migrationIdParams,
            ...parametersOf('query', migrationAuditQuerySchema, { nextToken: 'From the previous page' }),
          ],
          responses: responses(
            { '200': { description: 'A page of audit rows', content: jsonContent(ref('MigrationFileList')) } },
            [...COMMON_ERRORS, 'NotFound'],
          ),
        },
      },
    },
    components: {
      securitySchemes: {
        awsSigV4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'Default on AWS: API Gateway IAM authorization. Requests are signed with AWS Signature Version 4 (service execute-api) by credentials of the role in the stack output SalesforceRoleArn; in Salesforce the CrmBridge Named Credential with the CrmBridge_SigV4 External Credential signs them.',
          // API Gateway's own marker for SigV4 in imported definitions.
          'x-amazon-apigateway-authtype': 'awsSigv4',
        } as OpenAPIV3.ApiKeySecurityScheme,
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'x-api-key',
          description:
            'With the stack deployed as -c apiAuth=apiKey (usage plan and throttling), and on the local hub. In Salesforce: the CrmBridge_ApiKey Named Credential.',
        },
      },
      schemas: {
        CalloutRequest: describeProperties(schemaOf(calloutBodySchema), {
          payload:
            'Any JSON value the operation expects (send null when it takes none); at most 5 MB (5242880 bytes) as JSON',
          recordId:
            'The calling CRM record: stored on the job and used when the outcome is delivered back into Salesforce',
        }),
        CalloutAccepted: schemaOf(calloutAcceptedSchema),
        Job: schemaOf(jobSchema),
        JobList: schemaOf(jobListSchema),
        Health: schemaOf(healthSchema),
        CreateFileRequest: describeProperties(schemaOf(createFileSchema), {
          recordId:
            'The CRM record the file belongs to (files are listed by it); with link, a 15- or 18-character Salesforce record id',
          uploadedBy: 'Who uploaded the file, shown with it (the Salesforce files component sends the user name)',
          partUrls:
            'Multipart only: presign the first N part URLs only (smaller answer); POST /v1/files/{fileId}/parts gives the rest',
          link: "Create a link record in Salesforce on recordId once the file is AVAILABLE, through this salesforce connector's fileLink",
        }),
        FileCreated: schemaOf(fileCreatedSchema),
        CompleteFileRequest: schemaOf(completeFileSchema),
        RefreshPartsRequest: schemaOf(refreshPartsSchema),
        PartUrls: schemaOf(partUrlsSchema),
        File: schemaOf(fileSchema),
        FileList: schemaOf(fileListSchema),
        CreateMigrationRequest: describeProperties(schemaOf(createMigrationSchema), {
          connectorId:
            "A salesforce connector with fileLink: whose org's Files move, and which creates the link records",
          where:
            'A SOQL condition on ContentVersion, e.g. ContentSize > 10000000 AND CreatedDate < 2024-01-01T00:00:00Z',
          dryRun: 'List what would move (count, bytes, bytes freed) without copying or deleting',
          deleteAfterCopy:
            'Delete each ContentDocument (all its versions) once its copy is verified and its link records exist',
        }),
        MigrationAccepted: schemaOf(migrationAcceptedSchema),
        Migration: schemaOf(migrationSchema),
        MigrationFileList: schemaOf(migrationFileListSchema),
        ErrorResponse: schemaOf(errorResponseSchema),
      },
      responses: Object.fromEntries(
        Object.entries(ERROR_RESPONSES).map(([name, { description }]) => [
          name,
          { description, content: jsonContent(ref('ErrorResponse')) },
        ]),
      ),
    },
  };
}

export const OPENAPI_PATH = join(__dirname, '..', 'docs', 'openapi.json');

export function renderOpenApi(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(OPENAPI_PATH, renderOpenApi());
  console.log(`wrote ${OPENAPI_PATH}`);
}
