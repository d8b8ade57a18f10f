import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeSalesforce, type FakeSalesforce } from '../../local/fake-salesforce';
import { startHubProcess, type RunningHub } from '../../local/hub-process';
import { createAndPut } from '../support/hub-files';

/**
 * "When a file becomes AVAILABLE, an optional delivery creates a link record on
 * the file's recordId", end to end: the local hub (child process: real handlers,
 * emulators, SQS poller), a presigned upload, and the local Salesforce stand-in
 * receiving the upsert of CrmBridge_File__c by File_Id__c.
 */
const CLIENT_SECRET = 'sf-files-secret-93c1';
let hub: RunningHub;
let sf: FakeSalesforce;
let dir: string;
let n = 0;
/** A record id per test (15 characters, as Salesforce's case-sensitive ids). */
const recordId = () => `006FILES${String(++n).padStart(7, '0')}`;

const linkRecords = (fileId: string) =>
  [...sf.records.values()].filter((r) => r.attributes.type === 'CrmBridge_File__c' && r.File_Id__c === fileId);
const upserts = (fileId: string) =>
  sf.calls.filter((c) => c.method === 'PATCH' && c.path === `/sobjects/CrmBridge_File__c/File_Id__c/${fileId}`);

/** A salesforce connector row at the stand-in org, its client secret in the secret "client-secret". */
const sfRow = (connectorId: string, clientId: string, extra: Record<string, unknown> = {}) => ({
  connectorId,
  type: 'salesforce',
  loginUrl: sf.loginUrl,
  auth: { type: 'clientCredentials', clientId, clientSecret: { secret: 'client-secret' } },
  ...extra,
});

async function uploadAndComplete(body: Record<string, unknown>, content = Buffer.from('hello, files')) {
  const created = await createAndPut(
    hub,
    { fileName: 'contract.pdf', contentType: 'application/pdf', ...body },
    content,
  );
  const fileId = created.fileId as string;
  const done = await hub.api('POST', `/v1/files/${fileId}/complete`, {});
  expect(done.status).toBe(200);
  expect(done.body.status).toBe('AVAILABLE');
  return { fileId, created, completed: done.body };
}

async function waitForLink(fileId: string, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await hub.api('GET', `/v1/files/${fileId}`);
    const status = res.body?.link?.status;
    if (status === 'DELIVERED' || status === 'FAILED') return res.body;
    if (Date.now() > deadline)
      throw new Error(
        `link of ${fileId} not finished after ${timeoutMs} ms: ${JSON.stringify(res.body)}\n${hub.output()}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  [sf, hub] = await Promise.all([
    startFakeSalesforce({ clients: [{ clientId: 'crm-bridge-files', clientSecret: CLIENT_SECRET }] }),
    startHubProcess(),
  ]);
  dir = mkdtempSync(join(tmpdir(), 'crm-bridge-files-sf-'));
  const row = join(dir, 'sf-files.json');
  writeFileSync(
    row,
    JSON.stringify(
      sfRow('sf-files', 'crm-bridge-files', { retry: { maxAttempts: 3, baseDelayMs: 200 }, fileLink: {} }),
    ),
  );
  expect(await hub.cli(['connectors', 'put', row, '--local'])).toMatchObject({ code: 0 });
  expect((await hub.cli(['secrets', 'put', 'sf-files', 'client-secret', '--local'], `${CLIENT_SECRET}\n`)).code).toBe(
    0,
  );
  await hub.putConnector(sfRow('sf-nolink', 'x'));
  // Backoff of 2.5-5 s (equal jitter): always longer than the worker waits inline (2 s), so a retry goes back to SQS.
  await hub.putConnector(
    sfRow('sf-files-slow', 'crm-bridge-files', { retry: { maxAttempts: 3, baseDelayMs: 5000 }, fileLink: {} }),
  );
  expect(
    (await hub.cli(['secrets', 'put', 'sf-files-slow', 'client-secret', '--local'], `${CLIENT_SECRET}\n`)).code,
  ).toBe(0);
  await hub.putConnector(sfRow('sf-off', 'x', { enabled: false, fileLink: {} }));
}, 60_000);

afterAll(async () => {
  await hub?.stop();
  await sf?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('create with a link, upload, complete: exactly one upsert of CrmBridge_File__c by File_Id__c, shown DELIVERED on the file', async () => {
  const rid = recordId();
  const { fileId, created, completed } = await uploadAndComplete({ recordId: rid, link: { connectorId: 'sf-files' } });
  expect(created.link).toEqual({ connectorId: 'sf-files', status: 'WAITING_FOR_UPLOAD', attempts: 0 });
  expect(completed.link).toMatchObject({
    connectorId: 'sf-files',
    status: expect.stringMatching(/^(PENDING|DELIVERED)$/),
  });

  const file = await waitForLink(fileId);
  const [record] = linkRecords(fileId);
  expect(file).toEqual({
    fileId,
    fileName: 'contract.pdf',
    contentType: 'application/pdf',
    size: 12,
    status: 'AVAILABLE',
    recordId: rid,
    createdAt: expect.any(String),
    downloadUrl: expect.any(String),
    link: {
      connectorId: 'sf-files',
      status: 'DELIVERED',
      attempts: 1,
      salesforceId: record!.Id,
      deliveredAt: expect.any(String),
    },
  });
  expect(upserts(fileId)).toHaveLength(1);
  expect(upserts(fileId)[0]!.body).toEqual({
    Name: 'contract.pdf',
    Record_Id__c: rid,
    File_Name__c: 'contract.pdf',
    Size__c: 12,
    Content_Type__c: 'application/pdf',
    Download_Path__c: `/v1/files/${fileId}`,
  });
  expect(record).toMatchObject({
    File_Id__c: fileId,
    Record_Id__c: rid,
    Name: 'contract.pdf',
    Download_Path__c: `/v1/files/${fileId}`,
  });

  // Completing again neither queues nor sends anything.
  expect((await hub.api('POST', `/v1/files/${fileId}/complete`, {})).body.link).toMatchObject({ status: 'DELIVERED' });
  await new Promise((r) => setTimeout(r, 1500));
  expect(upserts(fileId)).toHaveLength(1);
  expect(linkRecords(fileId)).toHaveLength(1);

  // Lists show the link too.
  const list = await hub.api('GET', `/v1/files?recordId=${rid}`);
  expect(list.body.files).toEqual([
    expect.objectContaining({
      fileId,
      link: expect.objectContaining({ status: 'DELIVERED', salesforceId: record!.Id }),
    }),
  ]);
  expect(hub.output()).not.toContain(CLIENT_SECRET);
});

test('UNABLE_TO_LOCK_ROW once, then success (retried inside the invocation): one record, attempts 2', async () => {
  sf.fail('PATCH /sobjects/CrmBridge_File__c', {
    status: 400,
    errors: [{ errorCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record' }],
  });
  const { fileId } = await uploadAndComplete({ recordId: recordId(), link: { connectorId: 'sf-files' } });
  const file = await waitForLink(fileId);
  expect(file.link).toEqual({
    connectorId: 'sf-files',
    status: 'DELIVERED',
    attempts: 2,
    salesforceId: linkRecords(fileId)[0]!.Id,
    deliveredAt: expect.any(String),
  });
  expect(upserts(fileId)).toHaveLength(2);
  expect(linkRecords(fileId)).toHaveLength(1);
});

test('503 once, then success after a backoff too long to wait inline (an SQS redelivery, the link PENDING meanwhile): one record, attempts 2', async () => {
  // Salesforce sends no Retry-After with a 503; the connector's backoff decides the wait.
  sf.fail('PATCH /sobjects/CrmBridge_File__c', {
    status: 503,
    errors: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'maintenance' }],
  });
  const { fileId } = await uploadAndComplete({ recordId: recordId(), link: { connectorId: 'sf-files-slow' } });
  // While the retry waits, the file shows it.
  const deadline = Date.now() + 10_000;
  let waiting: any;
  while (Date.now() < deadline) {
    waiting = (await hub.api('GET', `/v1/files/${fileId}`)).body.link;
    if (waiting.attempts === 1) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(waiting).toMatchObject({
    status: 'PENDING',
    attempts: 1,
    nextAttemptAt: expect.any(String),
    error: { code: 'UPSTREAM_SALESFORCE_ERROR', statusCode: 503, retryable: true },
  });
  const file = await waitForLink(fileId);
  expect(file.link).toMatchObject({ status: 'DELIVERED', attempts: 2 });
  expect(file.link.error).toBeUndefined();
  expect(linkRecords(fileId)).toHaveLength(1);
}, 30_000);

test('a non-retryable Salesforce error: link FAILED at once with the mapped error; the file stays AVAILABLE', async () => {
  sf.fail('PATCH /sobjects/CrmBridge_File__c', {
    status: 400,
    errors: [
      {
        errorCode: 'INVALID_FIELD',
        message: "No such column 'Size__c' on sobject of type CrmBridge_File__c",
        fields: ['Size__c'],
      },
    ],
  });
  const { fileId } = await uploadAndComplete({ recordId: recordId(), link: { connectorId: 'sf-files' } });
  const file = await waitForLink(fileId);
  expect(file.status).toBe('AVAILABLE');
  expect(file.link).toEqual({
    connectorId: 'sf-files',
    status: 'FAILED',
    attempts: 1,
    error: {
      code: 'UPSTREAM_SALESFORCE_ERROR',
      message:
        "Salesforce answered HTTP 400: INVALID_FIELD: No such column 'Size__c' on sobject of type CrmBridge_File__c (fields: Size__c)",
      retryable: false,
      statusCode: 400,
    },
  });
  expect(upserts(fileId)).toHaveLength(1);
  expect(linkRecords(fileId)).toHaveLength(0);
});

test('a file without a link is untouched by any of this', async () => {
  const { fileId, completed } = await uploadAndComplete({ recordId: 'not-a-salesforce-id' });
  expect(completed.link).toBeUndefined();
  await new Promise((r) => setTimeout(r, 500));
  expect(upserts(fileId)).toHaveLength(0);
});

describe('a link is checked when the file is created (nothing is created when refused)', () => {
  const create = (body: Record<string, unknown>) =>
    hub.api('POST', '/v1/files', { fileName: 'a.pdf', contentType: 'application/pdf', size: 10, ...body });

  test.each<[string, Record<string, unknown>, number, string, RegExp]>([
    [
      'no recordId',
      { link: { connectorId: 'sf-files' } },
      400,
      'INVALID_REQUEST',
      /\$\.recordId: is required with "link"/,
    ],
    [
      'a recordId that is no Salesforce id',
      { recordId: 'order-42', link: { connectorId: 'sf-files' } },
      400,
      'INVALID_REQUEST',
      /\$\.recordId: with "link" it must be a 15- or 18-character Salesforce record id/,
    ],
    [
      'an unknown connector',
      { recordId: '006000000000001', link: { connectorId: 'nope' } },
      404,
      'CONNECTOR_NOT_FOUND',
      /No connector "nope"/,
    ],
    [
      'a connector of another type',
      { recordId: '006000000000001', link: { connectorId: 'echo' } },
      400,
      'FILE_LINK_NOT_CONFIGURED',
      /"echo" is a rest connector; "link.connectorId" must name a salesforce connector that declares "fileLink"/,
    ],
    [
      'a salesforce connector without fileLink',
      { recordId: '006000000000001', link: { connectorId: 'sf-nolink' } },
      400,
      'FILE_LINK_NOT_CONFIGURED',
      /declares no "fileLink": add "fileLink": \{\}/,
    ],
    [
      'a disabled connector',
      { recordId: '006000000000001', link: { connectorId: 'sf-off' } },
      409,
      'CONNECTOR_DISABLED',
      /crm-bridge connectors enable sf-off/,
    ],
    [
      'an unknown field in link',
      { recordId: '006000000000001', link: { connectorId: 'sf-files', sobject: 'X__c' } },
      400,
      'INVALID_REQUEST',
      /\$\.link: Unrecognized key: "sobject"/,
    ],
    [
      'a bad connector id',
      { recordId: '006000000000001', link: { connectorId: 'Bad Id' } },
      400,
      'INVALID_REQUEST',
      /\$\.link\.connectorId/,
    ],
  ])('%s: %j -> %i %s', async (_name, body, status, code, message) => {
    const res = await create(body);
    expect(res.status).toBe(status);
    expect(Object.keys(res.body)).toEqual(['error']);
    expect(res.body.error).toEqual({ code, message: expect.stringMatching(message) });
  });

  test('refused creates leave no file behind', async () => {
    const rid = '006000000000777';
    expect((await create({ recordId: rid, link: { connectorId: 'nope' } })).status).toBe(404);
    expect((await hub.api('GET', `/v1/files?recordId=${rid}`)).body.files).toEqual([]);
  });
});

test('the CLI uploads with --link and lists the link status', async () => {
  const rid = recordId();
  const path = join(dir, 'cli-linked.txt');
  writeFileSync(path, 'linked through the CLI');
  const up = await hub.cli(['files', 'upload', path, '--record-id', rid, '--link', 'sf-files', '--local']);
  expect(up.code).toBe(0);
  const fileId = up.stdout.trim();
  await waitForLink(fileId);
  expect(linkRecords(fileId)).toHaveLength(1);
  expect(linkRecords(fileId)[0]).toMatchObject({ Record_Id__c: rid, File_Name__c: 'cli-linked.txt' });
  const listed = await hub.cli(['files', 'list', '--record-id', rid, '--local']);
  expect(listed.stdout.trim().split('\t')).toEqual([
    fileId,
    'AVAILABLE',
    String('linked through the CLI'.length),
    expect.any(String),
    'link:DELIVERED',
    'cli-linked.txt',
  ]);

  const refused = await hub.cli(['files', 'upload', path, '--link', 'sf-files', '--local']);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain('recordId');
});
