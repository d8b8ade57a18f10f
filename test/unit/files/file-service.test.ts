import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  NoSuchUpload,
  NotFound,
  S3Client,
} from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import {
  attachmentDisposition,
  MAX_PART_COUNT,
  MAX_PARTS,
  MIN_PART_SIZE,
  partSizeFor,
  S3_MAX_OBJECT_SIZE,
  type FileRecord,
} from '../../../lambdas/files/file-service';
import { awsFileService } from '../../../lambdas/adapters/aws-file-service';
import { completeFileSchema } from '../../../lambdas/routes/file-routes';
import { MAX_BODY_BYTES } from '../../../lambdas/routes/router';
import { AppError } from '../../../lambdas/shared/errors';

const MiB = 1024 ** 2;

describe('partSizeFor', () => {
  test.each([1, 8 * MiB + 1, 50 * MiB, 80 * 1024 ** 3, S3_MAX_OBJECT_SIZE])(
    '%i bytes fit in MAX_PART_COUNT parts of 8 MiB to 5 GiB',
    (size) => {
      const part = partSizeFor(size);
      expect(part).toBeGreaterThanOrEqual(MIN_PART_SIZE);
      expect(part).toBeLessThanOrEqual(5 * 1024 ** 3); // S3's largest part
      expect(part % MiB).toBe(0);
      expect(Math.ceil(size / part)).toBeLessThanOrEqual(MAX_PART_COUNT);
    },
  );
  test('grows with the file only when needed', () => {
    expect(MAX_PART_COUNT).toBeLessThanOrEqual(MAX_PARTS);
    expect(partSizeFor(50 * MiB)).toBe(MIN_PART_SIZE);
    expect(partSizeFor(MAX_PART_COUNT * MIN_PART_SIZE)).toBe(MIN_PART_SIZE);
    expect(partSizeFor(MAX_PART_COUNT * MIN_PART_SIZE + 1)).toBe(MIN_PART_SIZE + MiB);
  });
});

test('attachmentDisposition keeps any name, with an ASCII fallback', () => {
  expect(attachmentDisposition('report.pdf')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
  expect(attachmentDisposition('Über "quotes" (1).txt')).toBe(
    `attachment; filename="_ber _quotes_ (1).txt"; filename*=UTF-8''%C3%9Cber%20%22quotes%22%20%281%29.txt`,
  );
});

describe('FileService', () => {
  // A long session token, as Lambda's role credentials carry: it is in every presigned URL.
  const s3 = new S3Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'T'.repeat(1100) },
  });
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }),
  );
  const s3Mock = mockClient(s3);
  const dbMock = mockClient(db);
  let ids = 0;
  const service = awsFileService(db, s3, {
    tableName: 'files',
    bucket: 'bucket',
    maxFileSize: 100 * 1024 ** 3,
    multipartThreshold: 8 * MiB,
    now: () => Date.parse('2026-01-02T03:04:05Z'),
    newId: () => `id-${++ids}`,
  });
  const pending = (over: Partial<FileRecord> = {}): FileRecord => ({
    fileId: 'f1',
    fileName: 'a.bin',
    contentType: 'application/octet-stream',
    size: 20 * MiB,
    status: 'PENDING',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    key: 'files/f1',
    uploadId: 'up-1',
    partSize: 8 * MiB,
    ...over,
  });
  const rejection = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (err: AppError) => ({ code: err.code, status: err.httpStatus, message: err.message }),
    );

  beforeEach(() => {
    s3Mock.reset();
    dbMock.reset();
  });

  test('a file at the threshold is one PUT under a key derived from its id, not its name', async () => {
    const res = await service.create({
      fileName: '../../etc/passwd',
      contentType: 'text/plain',
      size: 8 * MiB,
      recordId: 'R1',
    });
    expect(res.upload).toEqual({
      method: 'PUT',
      url: expect.stringContaining(`/files/${res.fileId}?`),
      headers: { 'content-type': 'text/plain' },
    });
    expect(s3Mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
    const put = dbMock.commandCalls(PutCommand)[0]!.args[0].input;
    expect(put.Item).toMatchObject({
      fileId: res.fileId,
      key: `files/${res.fileId}`,
      status: 'PENDING',
      recordId: 'R1',
      createdAt: '2026-01-02T03:04:05.000Z',
    });
    expect(put.ConditionExpression).toBe('attribute_not_exists(fileId)');
  });

  test('one byte over the threshold is multipart, with a URL per part', async () => {
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-9' });
    const res = await service.create({ fileName: 'b.bin', contentType: 'application/octet-stream', size: 8 * MiB + 1 });
    const upload = res.upload as { partSize: number; parts: Array<{ partNumber: number; url: string }> };
    expect(upload.partSize).toBe(8 * MiB);
    expect(upload.parts.map((p) => p.partNumber)).toEqual([1, 2]);
    expect(new URL(upload.parts[1]!.url).searchParams.get('partNumber')).toBe('2');
    expect(new URL(upload.parts[1]!.url).searchParams.get('uploadId')).toBe('up-9');
    expect(dbMock.commandCalls(PutCommand)[0]!.args[0].input.Item).toMatchObject({
      uploadId: 'up-9',
      partSize: 8 * MiB,
    });
  });

  test('the largest file: its create answer fits a Lambda response and its complete body the API limit', async () => {
    const big = awsFileService(db, s3, { tableName: 'files', bucket: 'bucket' });
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u'.repeat(120) });
    const res = await big.create({
      fileName: 'huge.bin',
      contentType: 'application/octet-stream',
      size: S3_MAX_OBJECT_SIZE,
    });
    const { parts } = res.upload as { parts: unknown[] };
    expect(parts.length).toBeLessThanOrEqual(MAX_PART_COUNT);
    expect(Buffer.byteLength(JSON.stringify(res))).toBeLessThan(6 * 1000 * 1000); // Lambda: 6 MB response payload
    const complete = {
      parts: parts.map((_, i) => ({ partNumber: i + 1, etag: `"${'0123456789abcdef'.repeat(2)}-10000"` })),
    };
    expect(completeFileSchema.safeParse(complete).success).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(complete))).toBeLessThan(MAX_BODY_BYTES);
  });

  test('over the maximum: FILE_TOO_LARGE before anything is created', async () => {
    expect(
      await rejection(service.create({ fileName: 'x', contentType: 'text/plain', size: 100 * 1024 ** 3 + 1 })),
    ).toMatchObject({ code: 'FILE_TOO_LARGE', status: 413 });
    expect(s3Mock.calls()).toHaveLength(0);
    expect(dbMock.calls()).toHaveLength(0);
  });

  test('completing with parts missing is refused before S3 sees it, so the upload stays resumable', async () => {
    dbMock.on(GetCommand).resolves({ Item: pending() });
    expect(
      await rejection(
        service.complete('f1', [
          { partNumber: 1, etag: 'a' },
          { partNumber: 3, etag: 'c' },
        ]),
      ),
    ).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('missing: 2'),
    });
    expect(
      await rejection(
        service.complete(
          'f1',
          [1, 2, 3, 3].map((n) => ({ partNumber: n, etag: 'e' })),
        ),
      ),
    ).toMatchObject({ message: expect.stringContaining('repeated') });
    expect(
      await rejection(
        service.complete(
          'f1',
          [1, 2, 3, 4].map((n) => ({ partNumber: n, etag: 'e' })),
        ),
      ),
    ).toMatchObject({ message: expect.stringContaining('unknown: 4') });
    expect(await rejection(service.complete('f1'))).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(s3Mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  test('parts are completed in order; a size that does not match leaves the file pending', async () => {
    dbMock.on(GetCommand).resolves({ Item: pending() });
    s3Mock
      .on(CompleteMultipartUploadCommand)
      .resolves({})
      .on(HeadObjectCommand)
      .resolves({ ContentLength: 20 * MiB - 1 });
    expect(
      await rejection(
        service.complete(
          'f1',
          [3, 1, 2].map((n) => ({ partNumber: n, etag: `e${n}` })),
        ),
      ),
    ).toMatchObject({ code: 'SIZE_MISMATCH', status: 409 });
    expect(s3Mock.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input.MultipartUpload!.Parts).toEqual([
      { PartNumber: 1, ETag: 'e1' },
      { PartNumber: 2, ETag: 'e2' },
      { PartNumber: 3, ETag: 'e3' },
    ]);
    expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  test('an upload S3 already assembled (an earlier complete lost its answer) completes on its size', async () => {
    dbMock
      .on(GetCommand)
      .resolves({ Item: pending() })
      .on(UpdateCommand)
      .resolves({ Attributes: { ...pending(), status: 'AVAILABLE' } });
    s3Mock
      .on(CompleteMultipartUploadCommand)
      .rejects(new NoSuchUpload({ message: 'gone', $metadata: {} }))
      .on(HeadObjectCommand)
      .resolves({ ContentLength: 20 * MiB });
    const done = await service.complete(
      'f1',
      [1, 2, 3].map((n) => ({ partNumber: n, etag: 'e' })),
    );
    expect(done).toMatchObject({
      status: 'AVAILABLE',
      downloadUrl: expect.stringContaining('response-content-disposition=attachment'),
    });
    expect(done).not.toHaveProperty('key');
    expect(done).not.toHaveProperty('uploadId');
    // Not resurrected if deleted meanwhile; only the request that finds it PENDING makes it AVAILABLE (and queues its link).
    expect(dbMock.commandCalls(UpdateCommand)[0]!.args[0].input).toMatchObject({
      ConditionExpression: 'attribute_exists(fileId) AND #s = :pending',
    });
    // Aborted instead: nothing there.
    s3Mock.on(HeadObjectCommand).rejects(new NotFound({ message: 'no', $metadata: { httpStatusCode: 404 } }));
    expect(
      await rejection(
        service.complete(
          'f1',
          [1, 2, 3].map((n) => ({ partNumber: n, etag: 'e' })),
        ),
      ),
    ).toMatchObject({ code: 'SIZE_MISMATCH' });
  });

  test('completing an available file again touches nothing', async () => {
    dbMock.on(GetCommand).resolves({ Item: { ...pending({ uploadId: undefined }), status: 'AVAILABLE' } });
    expect(await service.complete('f1', [])).toMatchObject({ status: 'AVAILABLE', downloadUrl: expect.any(String) });
    expect(s3Mock.calls()).toHaveLength(0);
    expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  test('delete aborts a pending multipart upload, then removes object and record', async () => {
    dbMock.on(GetCommand).resolves({ Item: pending() }).on(DeleteCommand).resolves({});
    s3Mock.on(AbortMultipartUploadCommand).resolves({}).on(DeleteObjectCommand).resolves({});
    await service.delete('f1');
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)[0]!.args[0].input).toEqual({
      Bucket: 'bucket',
      Key: 'files/f1',
      UploadId: 'up-1',
    });
    expect(s3Mock.commandCalls(DeleteObjectCommand)[0]!.args[0].input).toEqual({ Bucket: 'bucket', Key: 'files/f1' });
    expect(dbMock.commandCalls(DeleteCommand)[0]!.args[0].input.Key).toEqual({ fileId: 'f1' });
  });

  test('unknown ids are FILE_NOT_FOUND', async () => {
    dbMock.on(GetCommand).resolves({});
    for (const call of [
      service.get('nope'),
      service.complete('nope'),
      service.delete('nope'),
      service.refreshPartUrls('nope', [1]),
    ]) {
      expect(await rejection(call)).toMatchObject({ code: 'FILE_NOT_FOUND', status: 404 });
    }
  });

  test('nextToken round-trips the index key and is refused for another record or when garbled', async () => {
    const key = { fileId: 'f2', recordId: 'R1', createdAt: '2026-01-01T00:00:00.000Z' };
    dbMock.on(QueryCommand).resolves({ Items: [pending({ recordId: 'R1' })], LastEvaluatedKey: key });
    const first = await service.listByRecord('R1', 1);
    expect(first.files).toHaveLength(1);
    await service.listByRecord('R1', 1, first.nextToken);
    expect(dbMock.commandCalls(QueryCommand)[1]!.args[0].input).toMatchObject({
      IndexName: 'byRecordId',
      Limit: 1,
      ExclusiveStartKey: key,
    });
    expect(await rejection(service.listByRecord('R2', 1, first.nextToken))).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(await rejection(service.listByRecord('R1', 1, '%%%not-a-token'))).toMatchObject({ code: 'INVALID_REQUEST' });
  });

  test('partUrls hands out URLs for the first parts only; partCount says how many there are, /parts gives the rest', async () => {
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-7' });
    const res = await service.create({ fileName: 'v.mp4', contentType: 'video/mp4', size: 20 * MiB, partUrls: 2 });
    const upload = res.upload as { partSize: number; partCount: number; parts: Array<{ partNumber: number }> };
    expect(upload.partCount).toBe(3);
    expect(upload.parts.map((p) => p.partNumber)).toEqual([1, 2]);
    const all = await service.create({ fileName: 'w.mp4', contentType: 'video/mp4', size: 20 * MiB });
    expect((all.upload as { partCount: number; parts: unknown[] }).parts).toHaveLength(3);
    expect((all.upload as { partCount: number }).partCount).toBe(3);
  });

  test('newest first reads the index backwards; oldest first stays the default', async () => {
    dbMock.on(QueryCommand).resolves({ Items: [] });
    await service.listByRecord('R1', 10);
    await service.listByRecord('R1', 10, undefined, 'newest');
    const [oldest, newest] = dbMock.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(oldest!.ScanIndexForward).not.toBe(false);
    expect(newest).toMatchObject({ IndexName: 'byRecordId', ScanIndexForward: false });
  });

  test('uploadedBy is stored with the file and shown in its view', async () => {
    const res = await service.create({
      fileName: 'c.txt',
      contentType: 'text/plain',
      size: 3,
      recordId: 'R1',
      uploadedBy: 'Ada Lovelace',
    });
    expect(dbMock.commandCalls(PutCommand)[0]!.args[0].input.Item).toMatchObject({
      fileId: res.fileId,
      uploadedBy: 'Ada Lovelace',
    });
    dbMock
      .on(GetCommand)
      .resolves({ Item: pending({ uploadId: undefined, status: 'AVAILABLE', uploadedBy: 'Ada Lovelace' }) });
    expect(await service.get('f1')).toMatchObject({ fileId: 'f1', uploadedBy: 'Ada Lovelace' });
    dbMock.on(GetCommand).resolves({ Item: pending() });
    expect(await service.get('f1')).not.toHaveProperty('uploadedBy');
  });
});
