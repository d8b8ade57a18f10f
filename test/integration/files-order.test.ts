import { S3Client } from '@aws-sdk/client-s3';
import { awsFileService } from '../../lambdas/adapters/aws-file-service';
import { createFileSchema, listFilesQuerySchema } from '../../lambdas/routes/file-routes';
import { startDynamo } from '../support/dynamo';

/**
 * A record's files newest first (what the Salesforce files component shows), through the real
 * byRecordId index of an in-process dynalite. Presigning a single PUT needs no S3 server.
 */
let dynamo: Awaited<ReturnType<typeof startDynamo>>;
const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });

beforeAll(async () => {
  dynamo = await startDynamo();
});
afterAll(async () => {
  s3.destroy();
  await dynamo?.stop();
});

test("order=newest pages through a record's files from the most recent one; the default stays oldest first", async () => {
  let clock = Date.parse('2026-05-01T10:00:00Z');
  const files = awsFileService(dynamo.db, s3, {
    tableName: dynamo.tables.files,
    bucket: 'bucket',
    now: () => (clock += 60_000),
  });
  const recordId = '001000000000001AAA';
  for (const name of ['a.pdf', 'b.pdf', 'c.pdf', 'd.pdf', 'e.pdf']) {
    await files.create({
      fileName: name,
      contentType: 'application/pdf',
      size: 1,
      recordId,
      uploadedBy: `${name} uploader`,
    });
  }
  await files.create({
    fileName: 'other.pdf',
    contentType: 'application/pdf',
    size: 1,
    recordId: '001000000000002AAA',
  });

  const names = async (order: 'oldest' | 'newest') => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await files.listByRecord(recordId, 2, token, order);
      expect(page.files.length).toBeLessThanOrEqual(2);
      seen.push(...page.files.map((f) => f.fileName));
      token = page.nextToken;
    } while (token);
    return seen;
  };
  expect(await names('newest')).toEqual(['e.pdf', 'd.pdf', 'c.pdf', 'b.pdf', 'a.pdf']);
  expect(await names('oldest')).toEqual(['a.pdf', 'b.pdf', 'c.pdf', 'd.pdf', 'e.pdf']);
  expect((await files.listByRecord(recordId, 1, undefined, 'newest')).files[0]).toMatchObject({
    fileName: 'e.pdf',
    uploadedBy: 'e.pdf uploader',
  });
});

test('the API accepts order=oldest|newest (default oldest) and an uploadedBy of 1-255 characters', () => {
  expect(listFilesQuerySchema.parse({ recordId: 'R' }).order).toBe('oldest');
  expect(listFilesQuerySchema.parse({ recordId: 'R', order: 'newest' }).order).toBe('newest');
  expect(listFilesQuerySchema.safeParse({ recordId: 'R', order: 'sideways' }).success).toBe(false);
  const file = { fileName: 'a.pdf', contentType: 'application/pdf', size: 1 };
  expect(createFileSchema.parse({ ...file, uploadedBy: 'Ada Lovelace' }).uploadedBy).toBe('Ada Lovelace');
  expect(createFileSchema.safeParse({ ...file, uploadedBy: '' }).success).toBe(false);
  expect(createFileSchema.safeParse({ ...file, uploadedBy: 'x'.repeat(256) }).success).toBe(false);
});
