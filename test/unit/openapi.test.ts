import { readFileSync } from 'node:fs';
import { CreateMultipartUploadCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import SwaggerParser from '@apidevtools/swagger-parser';
import { mockClient } from 'aws-sdk-client-mock';
import type { OpenAPIV3 } from 'openapi-types';
import { parseConnector } from '../../lambdas/connectors/schema';
import type { ConnectorSource } from '../../lambdas/domain/connector-source';
import { CalloutService } from '../../lambdas/domain/callout-service';
import type { Job } from '../../lambdas/domain/job';
import type { JobQueuePort } from '../../lambdas/domain/job-queue';
import type { JobRepository } from '../../lambdas/domain/job-repository';
import { awsFileService } from '../../lambdas/adapters/aws-file-service';
import type { FileRecord } from '../../lambdas/files/file-service';
import { calloutRoutes } from '../../lambdas/routes/callout-routes';
import { fileRoutes } from '../../lambdas/routes/file-routes';
import { Router } from '../../lambdas/routes/router';
import { errorResponse } from '../../lambdas/shared/responses';
import { migrationRoutes } from '../../lambdas/routes/migration-routes';
import { OPENAPI_PATH, openApiDocument, renderOpenApi } from '../../scripts/generate-openapi';
import { apiEvent } from '../support/events';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;

const doc = openApiDocument();

function operations(d: OpenAPIV3.Document) {
  return Object.entries(d.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item?.[m]).map((m) => ({
      path,
      method: m.toUpperCase(),
      op: item![m] as OpenAPIV3.OperationObject,
    })),
  );
}

function resolve<T>(ref: unknown): T {
  let node = ref as { $ref?: string };
  while (node && node.$ref) {
    node = node.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<any>((at, key) => at?.[key], doc);
    if (!node) throw new Error(`dangling ${String((ref as { $ref: string }).$ref)}`);
  }
  return node as T;
}

/**
 * Checks a value against the document's schema subset, stricter than JSON Schema on
 * objects: a property the document does not declare is an error, so the document
 * must describe everything the handlers answer.
 */
function conformance(value: unknown, schemaOrRef: unknown, at = '$'): string[] {
  const schema = resolve<OpenAPIV3.SchemaObject>(schemaOrRef);
  if (value === null) return schema.nullable || schema.type === undefined ? [] : [`${at}: null is not allowed`];
  if (schema.enum && !schema.enum.includes(value))
    return [`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`];
  switch (schema.type) {
    case undefined:
      return [];
    case 'string':
      return typeof value === 'string' ? [] : [`${at}: not a string`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at}: not a boolean`];
    case 'integer':
      return Number.isInteger(value) ? [] : [`${at}: not an integer`];
    case 'number':
      return typeof value === 'number' ? [] : [`${at}: not a number`];
    case 'array':
      return Array.isArray(value)
        ? value.flatMap((v, i) => conformance(v, schema.items, `${at}[${i}]`))
        : [`${at}: not an array`];
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${at}: not an object`];
      const errors = (schema.required ?? []).filter((k) => !(k in value)).map((k) => `${at}.${k}: missing`);
      for (const [k, v] of Object.entries(value)) {
        const declared = schema.properties?.[k];
        if (declared) errors.push(...conformance(v, declared, `${at}.${k}`));
        else if (typeof schema.additionalProperties === 'object')
          errors.push(...conformance(v, schema.additionalProperties, `${at}.${k}`));
        else errors.push(`${at}.${k}: not declared in the document`);
      }
      return errors;
    }
    default:
      return [`${at}: unexpected schema type ${String((schema as { type?: unknown }).type)}`];
  }
}

describe('docs/openapi.json', () => {
  test('is a valid OpenAPI 3.0 document (swagger-parser)', async () => {
    // validate() dereferences in place: give it a copy.
    const api = (await SwaggerParser.validate(structuredClone(doc) as never)) as OpenAPIV3.Document;
    expect(api.openapi).toMatch(/^3\.0\.\d+$/);
  });

  test('the committed file is the current generation (run: node --import tsx scripts/generate-openapi.ts)', () => {
    expect(readFileSync(OPENAPI_PATH, 'utf8')).toBe(renderOpenApi());
  });

  test('documents exactly the routes the controller serves', () => {
    const unused = undefined as never;
    const served = [...calloutRoutes(unused), ...fileRoutes(unused), ...migrationRoutes(unused)]
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    expect(
      operations(doc)
        .map((o) => `${o.method} ${o.path}`)
        .sort(),
    ).toEqual(served);
    // The brief's required paths, explicitly.
    for (const path of [
      '/v1/health',
      '/v1/callouts/{connectorId}/{operation}',
      '/v1/jobs/{jobId}',
      '/v1/files',
      '/v1/files/{fileId}',
      '/v1/files/{fileId}/complete',
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });

  test('path parameters match the path templates', () => {
    for (const { path, method, op } of operations(doc)) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? [])
        .map((p) => resolve<OpenAPIV3.ParameterObject>(p))
        .filter((p) => p.in === 'path');
      expect({ op: `${method} ${path}`, params: declared.map((p) => p.name).sort() }).toEqual({
        op: `${method} ${path}`,
        params: inPath,
      });
      for (const p of declared) expect(p.required).toBe(true);
    }
  });

  test('every operation has a unique alphanumeric operationId (External Services names its actions by them)', () => {
    const ids = operations(doc).map((o) => o.op.operationId);
    for (const id of ids) expect(id).toMatch(/^[a-z][A-Za-z0-9]*$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('every error response is the {"error":{"code","message"}} envelope', () => {
    const envelope = resolve<OpenAPIV3.SchemaObject>(doc.components!.schemas!.ErrorResponse);
    expect(envelope.required).toEqual(['error']);
    const inner = envelope.properties!.error as OpenAPIV3.SchemaObject;
    expect(inner.required).toEqual(['code', 'message']);
    for (const { path, method, op } of operations(doc)) {
      const statuses = Object.keys(op.responses);
      expect({ op: `${method} ${path}`, success: statuses.filter((s) => /^2/.test(s)).length }).toEqual({
        op: `${method} ${path}`,
        success: 1,
      });
      expect(statuses).toContain('500');
      for (const status of statuses.filter((s) => !/^2/.test(s))) {
        const response = resolve<OpenAPIV3.ResponseObject>(op.responses[status]);
        expect(response.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/ErrorResponse' });
      }
    }
  });

  test('authentication: SigV4 or x-api-key everywhere but the open health check', () => {
    expect(doc.security).toEqual([{ awsSigV4: [] }, { apiKey: [] }]);
    const schemes = doc.components!.securitySchemes as Record<string, OpenAPIV3.ApiKeySecurityScheme>;
    expect(schemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'x-api-key' });
    expect(schemes.awsSigV4).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization' });
    const open = operations(doc).filter((o) => o.op.security !== undefined);
    expect(open.map((o) => `${o.method} ${o.path}`)).toEqual(['GET /v1/health']);
    expect(open[0]!.op.security).toEqual([]);
  });

  test('uses nothing Salesforce External Services cannot import', () => {
    const found: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}[${i}]`));
      if (!node || typeof node !== 'object') return;
      for (const [k, v] of Object.entries(node)) {
        // Under "properties" and "paths" keys are names, not keywords.
        if (!at.endsWith('.properties') && !at.endsWith('.paths')) {
          if (
            [
              'oneOf',
              'anyOf',
              'allOf',
              'not',
              'discriminator',
              'const',
              '$schema',
              'callbacks',
              'links',
              'webhooks',
            ].includes(k)
          )
            found.push(`${at}.${k}`);
          if (k === 'type' && typeof v !== 'string') found.push(`${at}.type (not a single type)`);
          if (k === 'headers' && at.includes('.responses.')) found.push(`${at}.headers (response headers)`);
        }
        walk(v, `${at}.${k}`);
      }
    };
    walk(doc, '$');
    expect(found).toEqual([]);
    // Parameters only in path, query or header (no cookies).
    for (const { op } of operations(doc))
      for (const p of op.parameters ?? [])
        expect(['path', 'query', 'header']).toContain(resolve<OpenAPIV3.ParameterObject>(p).in);
  });

  test("request schemas are the handlers' zod schemas (strict objects, same limits)", () => {
    const schemas = doc.components!.schemas as Record<string, OpenAPIV3.SchemaObject>;
    expect(schemas.CalloutRequest).toMatchObject({
      type: 'object',
      required: ['payload'],
      additionalProperties: false,
      properties: { recordId: { type: 'string', minLength: 1, maxLength: 255 } },
    });
    expect(schemas.CreateFileRequest).toMatchObject({
      required: ['fileName', 'contentType', 'size'],
      additionalProperties: false,
      properties: { size: { type: 'integer', format: 'int64' } },
    });
    expect((schemas.CreateFileRequest!.properties as Record<string, OpenAPIV3.SchemaObject>).link).toMatchObject({
      type: 'object',
      required: ['connectorId'],
      additionalProperties: false,
    });
    const submit = doc.paths['/v1/callouts/{connectorId}/{operation}']!.post!;
    const connectorId = (submit.parameters as OpenAPIV3.ParameterObject[]).find((p) => p.name === 'connectorId')!;
    expect(new RegExp((connectorId.schema as OpenAPIV3.SchemaObject).pattern!).test('orders-eu')).toBe(true);
    expect(new RegExp((connectorId.schema as OpenAPIV3.SchemaObject).pattern!).test('Orders')).toBe(false);
  });
});

describe('what the handlers answer conforms to the document', () => {
  // Real routes, real CalloutService and FileService; only storage is faked.
  const parsed = parseConnector({
    connectorId: 'orders',
    type: 'rest',
    baseUrl: 'https://api.example.com',
    operations: { create: { method: 'POST', path: '/orders' } },
  });
  if (!parsed.ok) throw new Error('fixture connector is invalid');
  const sf = parseConnector({
    connectorId: 'sf',
    type: 'salesforce',
    loginUrl: 'https://acme.my.salesforce.com',
    auth: { type: 'clientCredentials', clientId: 'c', clientSecret: { secret: 's' } },
    fileLink: {},
  });
  if (!sf.ok) throw new Error('fixture salesforce connector is invalid');
  const connectors: ConnectorSource = {
    get: async (id) => (id === 'orders' ? parsed.connector : id === 'sf' ? sf.connector : undefined),
  };
  const jobs = new Map<string, Job>();
  const jobStore = {
    claimIdempotencyKey: async (_key: string, _hash: string, jobId: string) => ({ claimed: true, jobId }),
    releaseIdempotencyKey: async () => undefined,
    create: async (job: Job) => void jobs.set(job.jobId, job),
    get: async (jobId: string) => jobs.get(jobId),
    fail: async () => undefined,
  } as unknown as JobRepository;
  const queue = { enqueue: async () => undefined } as unknown as JobQueuePort;
  let n = 0;
  const calloutService = new CalloutService({
    connectors,
    jobs: jobStore,
    queue,
    logger: { error: () => undefined },
    newId: () => `job-${++n}`,
  });

  const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' };
  const s3 = new S3Client({ region: 'us-east-1', credentials });
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials }));
  const s3Mock = mockClient(s3);
  const dbMock = mockClient(db);
  const files = awsFileService(db, s3, {
    tableName: 'files',
    bucket: 'bucket',
    newId: () => 'file-1',
    now: () => Date.parse('2026-01-02T03:04:05Z'),
    connectors,
    linkQueue: { enqueueFileLink: async () => undefined },
  });
  const router = new Router([...calloutRoutes(calloutService), ...fileRoutes(files)]);

  const available: FileRecord = {
    fileId: 'file-1',
    fileName: 'contract.pdf',
    contentType: 'application/pdf',
    size: 3 * 1024 ** 3, // over 2 GiB: int64 in the document
    status: 'AVAILABLE',
    recordId: '006000000000001AAA',
    createdAt: '2026-01-02T03:04:05.000Z',
    updatedAt: '2026-01-02T03:04:05.000Z',
    key: 'files/file-1',
  };
  beforeEach(() => {
    s3Mock.reset();
    dbMock.reset();
    dbMock.on(PutCommand).resolves({});
    dbMock.on(GetCommand).resolves({ Item: { ...available, status: 'PENDING' } });
    dbMock.on(UpdateCommand).resolves({ Attributes: available });
    dbMock
      .on(QueryCommand)
      .resolves({ Items: [available], LastEvaluatedKey: { fileId: 'file-1', recordId: available.recordId } });
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: available.size });
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
  });

  async function call(method: string, path: string, body?: unknown, query?: Record<string, string>) {
    const event = apiEvent({
      method,
      path,
      body: body === undefined ? null : JSON.stringify(body),
      query,
      headers: { 'Idempotency-Key': 'k-1' },
    });
    try {
      return await router.handle(event);
    } catch (err) {
      return errorResponse(err, { error: () => undefined }, 'req-1');
    }
  }

  /** The documented operation for a concrete path, and its schema for the answered status. */
  function documented(method: string, path: string, status: number) {
    const match = operations(doc).find(
      (o) => o.method === method && new RegExp(`^${o.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(path),
    );
    if (!match) throw new Error(`${method} ${path} is not documented`);
    const response = match.op.responses[String(status)];
    if (!response) throw new Error(`${method} ${match.path} answered ${status}, which the document does not list`);
    return resolve<OpenAPIV3.ResponseObject>(response).content?.['application/json']?.schema;
  }

  /** A small file to be linked to a record through this connector. */
  const fileLinkedTo = (connectorId: string) => ({
    fileName: 'a.txt',
    contentType: 'text/plain',
    size: 10,
    recordId: '006000000000001AAA',
    link: { connectorId },
  });
  const cases: Array<[string, number, string, string, unknown?, Record<string, string>?]> = [
    ['health', 200, 'GET', '/v1/health'],
    [
      'accepted callout',
      202,
      'POST',
      '/v1/callouts/orders/create',
      { payload: { sku: 'A-1' }, recordId: '001000000000001AAA' },
    ],
    ['unknown connector', 404, 'POST', '/v1/callouts/nope/create', { payload: null }],
    ['unknown field', 400, 'POST', '/v1/callouts/orders/create', { payload: 1, extra: true }],
    ['unknown job', 404, 'GET', '/v1/jobs/missing'],
    [
      'small file',
      201,
      'POST',
      '/v1/files',
      { fileName: 'a.txt', contentType: 'text/plain', size: 10, recordId: 'r1' },
    ],
    ['file with a link', 201, 'POST', '/v1/files', fileLinkedTo('sf')],
    ['link to an unknown connector', 404, 'POST', '/v1/files', fileLinkedTo('nope')],
    ['link to a connector without fileLink', 400, 'POST', '/v1/files', fileLinkedTo('orders')],
    [
      'large file',
      201,
      'POST',
      '/v1/files',
      { fileName: 'big.bin', contentType: 'application/octet-stream', size: 100 * 1024 ** 2 },
    ],
    ['file list', 200, 'GET', '/v1/files', undefined, { recordId: available.recordId! }],
    ['pending file', 200, 'GET', '/v1/files/file-1'],
    ['complete', 200, 'POST', '/v1/files/file-1/complete', {}],
    ['fresh part URLs for a single-PUT file', 409, 'POST', '/v1/files/file-1/parts', { partNumbers: [1] }],
    ['delete', 204, 'DELETE', '/v1/files/file-1'],
  ];

  // Rows as objects: with short array rows jest would take the missing arguments for a done callback.
  test.each(cases.map(([name, status, method, path, body, query]) => ({ name, status, method, path, body, query })))(
    '$name: $status',
    async ({ status, method, path, body, query }) => {
      const res = await call(method, path, body, query);
      expect(res.statusCode).toBe(status);
      const schema = documented(method, path, res.statusCode);
      if (schema === undefined) {
        expect(res.body).toBe('');
        return;
      }
      expect(conformance(JSON.parse(res.body), schema)).toEqual([]);
    },
  );

  test('jobs in every state', async () => {
    const accepted = JSON.parse(
      (await call('POST', '/v1/callouts/orders/create', { payload: { a: 1 }, recordId: 'r-1' })).body,
    ) as { jobId: string };
    const base = jobs.get(accepted.jobId)!;
    const states: Job[] = [
      base,
      {
        ...base,
        status: 'QUEUED',
        attempts: 1,
        correlationId: 'c-1',
        error: { code: 'UPSTREAM_HTTP_ERROR', message: '503', retryable: true, statusCode: 503 },
        nextAttemptAt: '2026-01-01T00:01:00.000Z',
      },
      {
        ...base,
        status: 'SUCCEEDED',
        attempts: 1,
        result: { statusCode: 201, data: { id: 42, tags: ['x'], note: null } },
      },
      {
        ...base,
        status: 'FAILED',
        attempts: 3,
        error: { code: 'UPSTREAM_TIMEOUT', message: 'timed out', retryable: true },
      },
      {
        ...base,
        status: 'SUCCEEDED',
        attempts: 1,
        result: { statusCode: 200, data: 'text' },
        delivery: {
          status: 'PENDING',
          attempts: 1,
          error: { code: 'UNABLE_TO_LOCK_ROW', message: 'locked', retryable: true },
          nextAttemptAt: '2026-01-01T00:02:00.000Z',
        },
      },
      {
        ...base,
        status: 'FAILED',
        attempts: 1,
        error: { code: 'UPSTREAM_HTTP_ERROR', message: '400', retryable: false, statusCode: 400 },
        delivery: { status: 'DELIVERED', attempts: 1, deliveredAt: '2026-01-01T00:03:00.000Z' },
      },
    ];
    for (const job of states) {
      jobs.set(job.jobId, job);
      const res = await call('GET', `/v1/jobs/${job.jobId}`);
      expect(res.statusCode).toBe(200);
      expect(conformance(JSON.parse(res.body), documented('GET', `/v1/jobs/${job.jobId}`, 200))).toEqual([]);
    }
  });

  test('files with a link in every state, alone and in lists', async () => {
    const error = { code: 'UPSTREAM_SALESFORCE_ERROR', message: 'HTTP 503', retryable: true, statusCode: 503 };
    const links: NonNullable<FileRecord['link']>[] = [
      { connectorId: 'sf', status: 'WAITING_FOR_UPLOAD', attempts: 0 },
      { connectorId: 'sf', status: 'PENDING', attempts: 1, error, nextAttemptAt: '2026-01-02T03:05:00.000Z' },
      {
        connectorId: 'sf',
        status: 'DELIVERED',
        attempts: 2,
        salesforceId: 'a0X000000000001AAA',
        deliveredAt: '2026-01-02T03:05:01.000Z',
      },
      {
        connectorId: 'sf',
        status: 'FAILED',
        attempts: 0,
        error: { code: 'QUEUE_UNAVAILABLE', message: 'not queued', retryable: true },
      },
    ];
    for (const link of links) {
      dbMock.on(GetCommand).resolves({ Item: { ...available, link } });
      dbMock.on(QueryCommand).resolves({ Items: [{ ...available, link }] });
      const one = await call('GET', '/v1/files/file-1');
      expect(JSON.parse(one.body).link).toMatchObject({ status: link.status });
      expect(conformance(JSON.parse(one.body), documented('GET', '/v1/files/file-1', 200))).toEqual([]);
      const list = await call('GET', '/v1/files', undefined, { recordId: available.recordId! });
      expect(conformance(JSON.parse(list.body), documented('GET', '/v1/files', 200))).toEqual([]);
    }
  });

  test('the checker itself finds undeclared and mistyped fields', () => {
    const job = resolve<OpenAPIV3.SchemaObject>({ $ref: '#/components/schemas/Job' });
    expect(conformance({ jobId: 'j', surprise: 1 }, job)).toEqual(
      expect.arrayContaining(['$.surprise: not declared in the document', '$.status: missing']),
    );
    expect(
      conformance(
        { jobId: 'j', connectorId: 'c', operation: 'o', status: 'DONE', attempts: 1.5, createdAt: '', updatedAt: '' },
        job,
      ),
    ).toEqual([
      '$.status: "DONE" is not one of ["QUEUED","RUNNING","SUCCEEDED","FAILED"]',
      '$.attempts: not an integer',
    ]);
  });
});
