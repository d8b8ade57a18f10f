import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { sessionCache } from '../../lambdas/connectors/salesforce/session';
import type { WrapperDeps } from '../../lambdas/connectors/types';
import { FileLinkRunner } from '../../lambdas/delivery/file-link-delivery';
import { ConnectorStore } from '../../lambdas/adapters/connector-store';
import { MessageDispatcher } from '../../lambdas/domain/message-dispatcher';
import { awsFileService } from '../../lambdas/adapters/aws-file-service';
import { DynamoFileLinkStore } from '../../lambdas/adapters/file-repository';
import type { FileService } from '../../lambdas/files/file-service';
import { fileLinkRow } from '../support/connectors';
import { startDynamo } from '../support/dynamo';
import { sqsRecord } from '../support/events';
import { mockLogger, testQueue } from '../support/worker';
import { startFakeSalesforce, type FakeSalesforce } from '../../local/fake-salesforce';
import { RetryLaterError } from '../../lambdas/shared/errors';

/**
 * File links below the HTTP layer: the real FileService and FileLinkRunner on
 * dynalite (the conditional updates are DynamoDB's, not a mock's), jsforce
 * against the local Salesforce stand-in, S3 and SQS clients mocked. The happy
 * path through the whole hub is in test/e2e/files-salesforce-hub.test.ts.
 */
let dynamo: Awaited<ReturnType<typeof startDynamo>>;
let sf: FakeSalesforce;
const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const s3Mock = mockClient(s3);
const sqsMock = mockClient(SQSClient);
const logger = mockLogger();
const deps: WrapperDeps = { secrets: { get: async () => 'sf-client-secret' }, fetch: globalThis.fetch };
const RECORD = '006000000000001AAA';
let seq = 0;

beforeAll(async () => {
  dynamo = await startDynamo();
  sf = await startFakeSalesforce({ clients: [{ clientId: 'hub', clientSecret: 'sf-client-secret' }] });
});
afterAll(async () => {
  s3Mock.restore();
  sqsMock.restore();
  await sf.close();
  await dynamo.stop();
});
beforeEach(() => {
  s3Mock.reset();
  sqsMock.reset();
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  sf.reset();
  sessionCache.clear();
  logger.info.mockReset();
  logger.warn.mockReset();
  logger.error.mockReset();
});

const putConnector = (item: Record<string, unknown>) =>
  dynamo.db.send(new PutCommand({ TableName: dynamo.tables.connectors, Item: item }));
const sfRow = (extra: Record<string, unknown> = {}) =>
  fileLinkRow(sf.loginUrl, {
    retry: { maxAttempts: 3, baseDelayMs: 50 },
    fileLink: {
      sobject: 'CrmBridge_File__c',
      externalIdField: 'File_Id__c',
      fields: { Name: 'file.fileName', File_Id__c: 'file.fileId', Record_Id__c: 'file.recordId' },
    },
    ...extra,
  });
const fileRecord = async (fileId: string) =>
  (await dynamo.db.send(new GetCommand({ TableName: dynamo.tables.files, Key: { fileId }, ConsistentRead: true })))
    .Item;

function service(enqueue: (fileId: string) => Promise<void>) {
  return awsFileService(dynamo.db, s3, {
    tableName: dynamo.tables.files,
    bucket: 'bucket',
    connectors: new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0),
    linkQueue: { enqueueFileLink: enqueue },
    logger,
    newId: () => `file-${++seq}`,
  });
}

/** A linked file, uploaded (S3 says the object has its size) and ready to complete. */
async function createLinked(files: FileService) {
  await putConnector(sfRow());
  s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 12 });
  const created = await files.create({
    fileName: 'hello.txt',
    contentType: 'text/plain',
    size: 12,
    recordId: RECORD,
    link: { connectorId: 'sf' },
  });
  expect(created.link).toEqual({ connectorId: 'sf', status: 'WAITING_FOR_UPLOAD', attempts: 0 });
  return created.fileId;
}

function runner(opts: { inlineRetryMaxMs?: number } = {}) {
  const sleeps: number[] = [];
  const r = new FileLinkRunner({
    files: new DynamoFileLinkStore(dynamo.db, dynamo.tables.files),
    connectors: new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0),
    queue: testQueue(),
    wrapperDeps: deps,
    logger,
    inlineRetryMaxMs: opts.inlineRetryMaxMs ?? 2000,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
  });
  return { runner: r, sleeps };
}

const linkMessage = (fileId: string) => sqsRecord(JSON.stringify({ kind: 'fileLink', fileId }));
const upserts = () =>
  sf.calls.filter((c) => c.method === 'PATCH' && c.path.startsWith('/sobjects/CrmBridge_File__c/File_Id__c/'));

describe('complete queues the link once', () => {
  test('only the request that makes the file AVAILABLE queues it, also when two completes race', async () => {
    const queued: string[] = [];
    const files = service(async (id) => void queued.push(id));
    const fileId = await createLinked(files);
    expect(await fileRecord(fileId)).toMatchObject({ status: 'PENDING', link: { status: 'WAITING_FOR_UPLOAD' } });
    const [a, b] = await Promise.all([files.complete(fileId), files.complete(fileId)]);
    expect([a.status, b.status]).toEqual(['AVAILABLE', 'AVAILABLE']);
    await files.complete(fileId);
    expect(queued).toEqual([fileId]);
    expect(await fileRecord(fileId)).toMatchObject({
      status: 'AVAILABLE',
      link: { connectorId: 'sf', status: 'PENDING', attempts: 0 },
    });
  });

  test('a file without a link queues nothing', async () => {
    const queued: string[] = [];
    const files = service(async (id) => void queued.push(id));
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3 });
    const { fileId } = await files.create({
      fileName: 'a.txt',
      contentType: 'text/plain',
      size: 3,
      recordId: 'anything',
    });
    expect((await files.complete(fileId)).link).toBeUndefined();
    expect(queued).toEqual([]);
  });

  test('a refused enqueue: the file is AVAILABLE, its link FAILED with QUEUE_UNAVAILABLE; completing again queues it once more', async () => {
    let up = false;
    const queued: string[] = [];
    const files = service(async (id) => {
      if (!up) throw new Error('SQS is down');
      queued.push(id);
    });
    const fileId = await createLinked(files);
    const done = await files.complete(fileId);
    expect(done).toMatchObject({
      status: 'AVAILABLE',
      downloadUrl: expect.any(String),
      link: { status: 'FAILED', attempts: 0, error: { code: 'QUEUE_UNAVAILABLE', retryable: true } },
    });
    expect(await fileRecord(fileId)).toMatchObject({
      status: 'AVAILABLE',
      link: { status: 'FAILED', error: { code: 'QUEUE_UNAVAILABLE' } },
    });
    expect(logger.error).toHaveBeenCalledWith('file link could not be queued', expect.objectContaining({ fileId }));
    up = true;
    const [again, concurrent] = await Promise.all([files.complete(fileId), files.complete(fileId)]);
    expect(queued).toEqual([fileId]);
    expect([again.link?.status, concurrent.link?.status]).toEqual(['PENDING', 'PENDING']);
    expect((await fileRecord(fileId))!.link).toEqual({ connectorId: 'sf', status: 'PENDING', attempts: 0 });
  });
});

describe('the worker creates the link record', () => {
  async function availableFile() {
    const files = service(async () => undefined);
    const fileId = await createLinked(files);
    await files.complete(fileId);
    return fileId;
  }

  test('upsert by File_Id__c; a second message for the delivered link changes nothing', async () => {
    const fileId = await availableFile();
    const { runner: r } = runner();
    await r.process({ kind: 'fileLink', fileId }, linkMessage(fileId));
    await r.process({ kind: 'fileLink', fileId }, linkMessage(fileId));
    expect(upserts()).toHaveLength(1);
    expect(upserts()[0]).toMatchObject({
      path: `/sobjects/CrmBridge_File__c/File_Id__c/${fileId}`,
      body: { Name: 'hello.txt', Record_Id__c: RECORD },
    });
    const [record] = [...sf.records.values()];
    expect(record).toMatchObject({
      attributes: { type: 'CrmBridge_File__c' },
      File_Id__c: fileId,
      Record_Id__c: RECORD,
    });
    expect((await fileRecord(fileId))!.link).toEqual({
      connectorId: 'sf',
      status: 'DELIVERED',
      attempts: 1,
      salesforceId: record!.Id,
      deliveredAt: expect.any(String),
    });
  });

  test('an expired session: one re-login, the upsert repeated once', async () => {
    const fileId = await availableFile();
    const { runner: r } = runner();
    await r.process({ kind: 'fileLink', fileId }, linkMessage(fileId)); // logs in
    const second = await availableFile();
    sf.expireSessions();
    await r.process({ kind: 'fileLink', fileId: second }, linkMessage(second));
    expect(sf.tokenRequests.filter((t) => t.ok)).toHaveLength(2);
    expect((await fileRecord(second))!.link).toMatchObject({ status: 'DELIVERED', attempts: 1 });
  });

  test('a wait too long for the invocation hands the message back to SQS with the wait recorded; a file deleted meanwhile ends the link quietly', async () => {
    const fileId = await availableFile();
    // Salesforce sends no Retry-After with a 503: the backoff (38 ms here) is longer than this runner waits inline.
    sf.fail('PATCH /sobjects/CrmBridge_File__c', {
      status: 503,
      errors: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'maintenance' }],
    });
    const { runner: r } = runner({ inlineRetryMaxMs: 0 });
    await expect(r.process({ kind: 'fileLink', fileId }, linkMessage(fileId))).rejects.toThrow(RetryLaterError);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]!.args[0].input).toMatchObject({
      VisibilityTimeout: 1,
    });
    expect((await fileRecord(fileId))!.link).toMatchObject({
      status: 'PENDING',
      attempts: 1,
      nextAttemptAt: expect.any(String),
      error: { code: 'UPSTREAM_SALESFORCE_ERROR', statusCode: 503, retryable: true },
    });
    await dynamo.db.send(new DeleteCommand({ TableName: dynamo.tables.files, Key: { fileId } }));
    await expect(r.process({ kind: 'fileLink', fileId }, linkMessage(fileId))).resolves.toBeUndefined();
    expect(upserts()).toHaveLength(1); // only the refused one
    expect(await fileRecord(fileId)).toBeUndefined(); // not resurrected
    expect(logger.info).toHaveBeenCalledWith(expect.stringContaining('deleted'), { fileId });
    expect(logger.error).not.toHaveBeenCalled();
  });

  test('retries run out: FAILED with the last error and every attempt counted', async () => {
    const fileId = await availableFile();
    sf.fail(
      'PATCH /sobjects/CrmBridge_File__c',
      { status: 400, errors: [{ errorCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access' }] },
      3,
    );
    const { runner: r, sleeps } = runner();
    await r.process({ kind: 'fileLink', fileId }, linkMessage(fileId));
    expect(sleeps).toEqual([38, 75]); // equal jitter at 0.5 of 50 and 100 ms
    expect((await fileRecord(fileId))!.link).toMatchObject({
      status: 'FAILED',
      attempts: 3,
      error: {
        code: 'UPSTREAM_SALESFORCE_ERROR',
        retryable: true,
        message: expect.stringContaining('UNABLE_TO_LOCK_ROW'),
      },
    });
  });

  test('a connector that lost its fileLink, or was disabled, fails the link without a call', async () => {
    const fileId = await availableFile();
    await putConnector(sfRow({ fileLink: undefined }));
    const { runner: r } = runner();
    await r.process({ kind: 'fileLink', fileId }, linkMessage(fileId));
    expect((await fileRecord(fileId))!.link).toMatchObject({
      status: 'FAILED',
      attempts: 0,
      error: { code: 'FILE_LINK_NOT_CONFIGURED' },
    });
    const other = await availableFile();
    await putConnector(sfRow({ enabled: false }));
    await r.process({ kind: 'fileLink', fileId: other }, linkMessage(other));
    expect((await fileRecord(other))!.link).toMatchObject({
      status: 'FAILED',
      attempts: 0,
      error: { code: 'DELIVERY_TARGET_INVALID', message: expect.stringContaining('is disabled') },
    });
    expect(sf.calls).toHaveLength(0);
  });

  test('a message for a file that was already deleted does nothing', async () => {
    const { runner: r } = runner();
    await expect(r.process({ kind: 'fileLink', fileId: 'gone' }, linkMessage('gone'))).resolves.toBeUndefined();
    expect(sf.calls).toHaveLength(0);
  });
});

describe('the worker dispatches by kind', () => {
  const seen: string[] = [];
  const dispatcher = new MessageDispatcher({
    job: async (m) => void seen.push(`job ${m.jobId}`),
    fileLink: async (m) => void seen.push(`fileLink ${m.fileId}`),
    scanResult: async (m) => void seen.push(`scanResult ${m.detail.s3ObjectDetails.objectKey}`),
    fileMigration: async (m) => void seen.push(`fileMigration ${m.migrationId} ${m.seq}`),
  });

  test('job messages without a kind (as queued before kinds existed), with kind "job", and file links', async () => {
    await dispatcher.process(sqsRecord('{"jobId":"j-1"}'));
    await dispatcher.process(sqsRecord('{"kind":"job","jobId":"j-2"}'));
    await dispatcher.process(sqsRecord('{"kind":"fileLink","fileId":"f-1"}'));
    expect(seen).toEqual(['job j-1', 'job j-2', 'fileLink f-1']);
  });

  test('a GuardDuty scan result event, as the EventBridge rule delivers it, goes to the scan result handler', async () => {
    seen.length = 0;
    const event = {
      version: '0',
      source: 'aws.guardduty',
      'detail-type': 'GuardDuty Malware Protection Object Scan Result',
      detail: {
        schemaVersion: '1.0',
        scanStatus: 'COMPLETED',
        s3ObjectDetails: { bucketName: 'b', objectKey: 'files/f-9' },
        scanResultDetails: { scanResultStatus: 'NO_THREATS_FOUND', threats: null },
      },
    };
    await dispatcher.process(sqsRecord(JSON.stringify(event)));
    expect(seen).toEqual(['scanResult files/f-9']);
  });

  test.each([
    'not json',
    '{}',
    '{"kind":"fileLink","jobId":"j"}',
    '{"kind":"other","fileId":"f"}',
    '{"jobId":"j","extra":1}',
  ])('%s is malformed (left for the DLQ)', async (body) => {
    await expect(dispatcher.process(sqsRecord(body, { messageId: 'm-bad' }))).rejects.toThrow(
      'Malformed queue message m-bad',
    );
  });
});
