import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { ConnectorStore } from '../../lambdas/adapters/connector-store';
import { awsFileService } from '../../lambdas/adapters/aws-file-service';
import { DynamoFileRepository } from '../../lambdas/adapters/file-repository';
import { ScanResultRunner, SCAN_RESULT_DETAIL_TYPE } from '../../lambdas/files/scan-result';
import { unreachableFileLinkRow } from '../support/connectors';
import { startDynamo } from '../support/dynamo';
import { mockLogger } from '../support/worker';

/**
 * Scan results below the hub: the real FileService and ScanResultRunner on
 * dynalite (the conditional updates are DynamoDB's), S3 mocked. The clean and
 * EICAR paths through the whole local hub are in test/e2e/files-scan.test.ts.
 */
let dynamo: Awaited<ReturnType<typeof startDynamo>>;
const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const s3Mock = mockClient(s3);
const logger = mockLogger();
const RECORD = '006000000000001AAA';
let seq = 0;
const queued: string[] = [];

beforeAll(async () => {
  dynamo = await startDynamo();
  await dynamo.db.send(
    new PutCommand({
      TableName: dynamo.tables.connectors,
      Item: unreachableFileLinkRow(),
    }),
  );
});
afterAll(async () => {
  s3Mock.restore();
  await dynamo.stop();
});
beforeEach(() => {
  queued.length = 0;
  s3Mock.reset();
  s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 10 });
});

const linkQueue = { enqueueFileLink: async (fileId: string) => void queued.push(fileId) };
const service = (malwareScan: boolean) =>
  awsFileService(dynamo.db, s3, {
    tableName: dynamo.tables.files,
    bucket: 'files-bucket',
    connectors: new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0),
    linkQueue,
    logger,
    malwareScan,
    newId: () => `file-${++seq}`,
  });
const runner = () =>
  new ScanResultRunner({
    files: new DynamoFileRepository(dynamo.db, dynamo.tables.files),
    bucket: 'files-bucket',
    linkQueue,
    logger,
  });
const event = (fileId: string, scanResultStatus: string, bucketName = 'files-bucket') => ({
  source: 'aws.guardduty' as const,
  'detail-type': SCAN_RESULT_DETAIL_TYPE,
  detail: { s3ObjectDetails: { bucketName, objectKey: `files/${fileId}` }, scanResultDetails: { scanResultStatus } },
});
const stored = async (fileId: string) =>
  (await dynamo.db.send(new GetCommand({ TableName: dynamo.tables.files, Key: { fileId }, ConsistentRead: true })))
    .Item!;
const linked = () =>
  service(true).create({
    fileName: 'a.txt',
    contentType: 'text/plain',
    size: 10,
    recordId: RECORD,
    link: { connectorId: 'sf' },
  });

test('without malware scanning, complete makes the file AVAILABLE at once (as before)', async () => {
  const { fileId } = await service(false).create({ fileName: 'a.txt', contentType: 'text/plain', size: 10 });
  expect((await service(false).complete(fileId)).status).toBe('AVAILABLE');
});

test('a clean result makes a SCANNING file AVAILABLE and only then queues its link', async () => {
  const { fileId } = await linked();
  expect(await service(true).complete(fileId)).toMatchObject({
    status: 'SCANNING',
    link: { status: 'WAITING_FOR_UPLOAD' },
  });
  expect(queued).toEqual([]);
  await runner().process(event(fileId, 'NO_THREATS_FOUND'));
  expect(await stored(fileId)).toMatchObject({
    status: 'AVAILABLE',
    scanResult: 'NO_THREATS_FOUND',
    link: { status: 'PENDING' },
  });
  expect(queued).toEqual([fileId]);
  // A redelivered event changes nothing and only re-queues the pending link (the link runner is idempotent).
  await runner().process(event(fileId, 'NO_THREATS_FOUND'));
  expect((await stored(fileId)).status).toBe('AVAILABLE');
});

test('a result that arrives before complete is kept, and complete applies it', async () => {
  const { fileId } = await linked();
  await runner().process(event(fileId, 'THREATS_FOUND'));
  expect(await stored(fileId)).toMatchObject({ status: 'PENDING', scanResult: 'THREATS_FOUND' });
  const done = await service(true).complete(fileId);
  expect(done).toMatchObject({
    status: 'QUARANTINED',
    link: { status: 'FAILED', error: { code: 'FILE_QUARANTINED', retryable: false } },
  });
  expect(done).not.toHaveProperty('downloadUrl');
  expect(queued).toEqual([]);
  expect(logger.error).toHaveBeenCalledWith(
    'file quarantined: the malware scan found a threat',
    expect.objectContaining({ fileId, metric: 'FilesQuarantined' }),
  );
  await expect(service(true).complete(fileId)).rejects.toMatchObject({ code: 'FILE_QUARANTINED', httpStatus: 409 });
});

test.each(['UNSUPPORTED', 'ACCESS_DENIED', 'FAILED'])(
  '%s leaves the file SCAN_FAILED: no download URL, the link FAILED',
  async (result) => {
    const { fileId } = await linked();
    await service(true).complete(fileId);
    await runner().process(event(fileId, result));
    const got = await service(true).get(fileId);
    expect(got).toMatchObject({
      status: 'SCAN_FAILED',
      scanResult: result,
      link: { status: 'FAILED', error: { code: 'FILE_SCAN_FAILED' } },
    });
    expect(got).not.toHaveProperty('downloadUrl');
    expect(logger.warn).toHaveBeenCalledWith(
      'file could not be scanned for malware; it stays unavailable',
      expect.objectContaining({ fileId, scanResult: result }),
    );
  },
);

test('results for another bucket, other keys or deleted files change nothing', async () => {
  const { fileId } = await linked();
  await service(true).complete(fileId);
  await runner().process(event(fileId, 'NO_THREATS_FOUND', 'someone-elses-bucket'));
  await runner().process({
    ...event(fileId, 'NO_THREATS_FOUND'),
    detail: {
      s3ObjectDetails: { bucketName: 'files-bucket', objectKey: 'other/x' },
      scanResultDetails: { scanResultStatus: 'NO_THREATS_FOUND' },
    },
  });
  await runner().process(event('no-such-file', 'NO_THREATS_FOUND'));
  expect((await stored(fileId)).status).toBe('SCANNING');
});
