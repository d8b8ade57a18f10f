import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoMigratedFiles } from '../../lambdas/adapters/dynamo-migrated-files';
import { DynamoMigrationStore } from '../../lambdas/adapters/dynamo-migration-store';
import { S3ObjectUploader } from '../../lambdas/adapters/s3-object-uploader';
import { SalesforceContent } from '../../lambdas/connectors/salesforce/content';
import { sessionCache } from '../../lambdas/connectors/salesforce/session';
import type { WrapperDeps } from '../../lambdas/connectors/types';
import { FileLinkRunner } from '../../lambdas/delivery/file-link-delivery';
import { ConnectorStore } from '../../lambdas/adapters/connector-store';
import type { FileLinkMessage, FileMigrationMessage } from '../../lambdas/domain/job-queue';
import { RetryLaterError } from '../../lambdas/shared/errors';
import { DynamoFileLinkStore, DynamoFileRepository } from '../../lambdas/adapters/file-repository';
import { awsFileService } from '../../lambdas/adapters/aws-file-service';
import { ScanResultRunner, SCAN_RESULT_DETAIL_TYPE } from '../../lambdas/files/scan-result';
import {
  MigrationRunner,
  MigrationService,
  migratedFileId,
  type AuditRow,
  type MigrationQueue,
} from '../../lambdas/files/migration';
import { migrationRoutes } from '../../lambdas/routes/migration-routes';
import { Router } from '../../lambdas/routes/router';
import { errorResponse } from '../../lambdas/shared/responses';
import { startFakeSalesforce, type FakeSalesforce } from '../../local/fake-salesforce';
import { fileLinkRow } from '../support/connectors';
import { startDynamo } from '../support/dynamo';
import { apiEvent, sqsRecord } from '../support/events';
import { startS3 } from '../support/s3';

/**
 * Moving Salesforce Files into the hub: the real runner, its DynamoDB and S3
 * adapters on dynalite and fauxqs, jsforce and the streamed VersionData
 * download against the local Salesforce stand-in, and the real file-link
 * delivery creating the link records. The queue is the test's (a FIFO the test
 * drains), so each batch and link message is seen run.
 */
const MiB = 1024 * 1024;
const THRESHOLD = 5 * MiB; // small enough to keep the test fast, and S3's real minimum part size
const ACCOUNT = '001000000000001AAA';
const CASE = '500000000000002AAA';
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const deps: WrapperDeps = { secrets: { get: async () => 'sf-client-secret' }, fetch: globalThis.fetch };

let dynamo: Awaited<ReturnType<typeof startDynamo>>;
let s3: Awaited<ReturnType<typeof startS3>>;
let sf: FakeSalesforce;
let bucket: string;
let bucketCount = 0;

beforeAll(async () => {
  [dynamo, s3, sf] = await Promise.all([
    startDynamo(),
    startS3(),
    startFakeSalesforce({ clients: [{ clientId: 'hub', clientSecret: 'sf-client-secret' }] }),
  ]);
});
afterAll(async () => {
  await Promise.all([sf?.close(), s3?.stop(), dynamo?.stop()]);
});
beforeEach(async () => {
  sf.reset();
  sessionCache.clear();
  bucket = await s3.createBucket(`files-${++bucketCount}`);
  await dynamo.db.send(new PutCommand({ TableName: dynamo.tables.connectors, Item: sfRow() }));
});

function sfRow(extra: Record<string, unknown> = {}) {
  return fileLinkRow(sf.loginUrl, { retry: { maxAttempts: 2, baseDelayMs: 10 }, timeoutMs: 5000, ...extra });
}

/** The hub's pieces for one test: a queue the test drains, the runner, the link delivery, the API routes. */
function hub(opts: { batchSize?: number; malwareScan?: boolean } = {}) {
  const messages: Array<FileLinkMessage | FileMigrationMessage> = [];
  const queue: MigrationQueue = {
    enqueueFileLink: async (fileId) => void messages.push({ kind: 'fileLink', fileId }),
    enqueueFileMigration: async (migrationId, seq) => void messages.push({ kind: 'fileMigration', migrationId, seq }),
    deferMessage: async () => undefined,
  };
  const connectors = new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0);
  const store = new DynamoMigrationStore(dynamo.db, dynamo.tables.migrations);
  const runner = new MigrationRunner({
    connectors,
    sources: (connector) => new SalesforceContent(connector, deps),
    store,
    uploader: new S3ObjectUploader(s3.client, { bucket, multipartThreshold: THRESHOLD, partSize: THRESHOLD }),
    files: new DynamoMigratedFiles(dynamo.db, dynamo.tables.files),
    queue,
    logger: silent,
    batchSize: opts.batchSize ?? 2,
    malwareScan: opts.malwareScan,
    minRemainingMs: 0,
    linkPollSeconds: 0,
  });
  const links = new FileLinkRunner({
    files: new DynamoFileLinkStore(dynamo.db, dynamo.tables.files),
    connectors,
    queue,
    wrapperDeps: deps,
    logger: silent,
    sleep: async () => undefined,
  });
  const service = new MigrationService({ connectors, store, queue });
  const router = new Router(migrationRoutes(service));
  const call = async (method: string, path: string, body?: unknown, query?: Record<string, string>) => {
    let res;
    try {
      res = await router.handle(
        apiEvent({ method, path, body: body === undefined ? null : JSON.stringify(body), query }),
      );
    } catch (err) {
      res = errorResponse(err, silent, 'test');
    }
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  };
  /** Runs queued messages in order until none is left: what the worker does with the queue. */
  const drain = async (max = 500) => {
    const seen: string[] = [];
    for (let i = 0; i < max && messages.length; i++) {
      const m = messages.shift()!;
      const record = sqsRecord(JSON.stringify(m));
      if (m.kind === 'fileLink') await links.process(m, record);
      else {
        seen.push(`batch ${m.seq}`);
        await runner.process(m, record);
      }
    }
    return seen;
  };
  const migrate = async (body: Record<string, unknown>) => {
    const accepted = await call('POST', '/v1/files/migrations', { connectorId: 'sf', ...body });
    expect(accepted.status).toBe(202);
    await drain();
    const status = await call('GET', `/v1/files/migrations/${accepted.body.migrationId}`);
    const rows: AuditRow[] = [];
    let token: string | undefined;
    do {
      const page = await call('GET', `/v1/files/migrations/${accepted.body.migrationId}/files`, undefined, {
        limit: '2',
        ...(token && { nextToken: token }),
      });
      expect(page.status).toBe(200);
      rows.push(...page.body.files);
      token = page.body.nextToken;
    } while (token);
    return { migration: status.body, rows, byTitle: (title: string) => rows.find((r) => r.title === title)! };
  };
  return { messages, runner, service, store, call, drain, migrate };
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const fileRecord = async (fileId: string) =>
  (await dynamo.db.send(new GetCommand({ TableName: dynamo.tables.files, Key: { fileId }, ConsistentRead: true })))
    .Item;
const objectBytes = async (key: string) =>
  Buffer.from(
    await (await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray(),
  );
const objectKeys = async () =>
  ((await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);
const linkUpserts = () =>
  sf.calls.filter((c) => c.method === 'PATCH' && c.path.startsWith('/sobjects/CrmBridge_File__c/'));
const deletes = () => sf.calls.filter((c) => c.method === 'DELETE' && c.path.startsWith('/sobjects/ContentDocument/'));

describe('a migration moves files into S3 with one file record and link record per linked record', () => {
  test('small (one PUT) and large (multipart) files, verified, recorded, linked; users are not records', async () => {
    const small = Buffer.from('a contract, version 1');
    const large = randomBytes(THRESHOLD * 2 + 123_457); // three parts of 5 MiB
    const s = sf.seedFile({
      title: 'Contract',
      extension: 'pdf',
      content: small,
      links: [ACCOUNT, CASE],
      createdDate: '2024-03-01T10:00:00.000+0000',
    });
    const l = sf.seedFile({ title: 'Site video', extension: 'mp4', content: large, links: [ACCOUNT] });
    const h = hub();
    const { migration, rows, byTitle } = await h.migrate({ where: "ContentSize > 0 AND Title != 'nothing'" });

    expect(migration).toMatchObject({
      status: 'SUCCEEDED',
      dryRun: false,
      counts: { considered: 2, moved: 2, failed: 0, skipped: 0, bytes: small.length + large.length, fileRecords: 3 },
    });
    expect(rows.map((r) => r.status)).toEqual(['MOVED', 'MOVED']);
    // One object per version, named by the first file record; every byte as Salesforce had it.
    const smallIds = [ACCOUNT, CASE].map((r) => migratedFileId('sf', s.versionId, r));
    const largeId = migratedFileId('sf', l.versionId, ACCOUNT);
    expect((await objectKeys()).sort()).toEqual([`files/${smallIds[0]}`, `files/${largeId}`].sort());
    expect(await objectBytes(`files/${smallIds[0]}`)).toEqual(small);
    expect(md5(await objectBytes(`files/${largeId}`))).toBe(md5(large));
    expect(byTitle('Site video')).toMatchObject({
      size: large.length,
      checksum: md5(large),
      md5: md5(large),
      fileIds: [largeId],
      recordIds: [ACCOUNT],
    });
    // The owner's User link is not a record: two file records for the contract, on the account and on the case.
    expect(byTitle('Contract')).toMatchObject({ fileIds: smallIds, recordIds: [ACCOUNT, CASE] });
    for (const [i, fileId] of smallIds.entries()) {
      expect(await fileRecord(fileId)).toMatchObject({
        fileName: 'Contract.pdf',
        contentType: 'application/pdf',
        size: small.length,
        status: 'AVAILABLE',
        recordId: [ACCOUNT, CASE][i],
        key: `files/${smallIds[0]}`,
        createdAt: '2024-03-01T10:00:00.000Z',
        link: { connectorId: 'sf', status: 'DELIVERED' },
        source: {
          type: 'salesforce',
          connectorId: 'sf',
          contentVersionId: s.versionId,
          contentDocumentId: s.documentId,
        },
        siblings: smallIds.filter((f) => f !== fileId),
      });
    }
    // The link records, created by the file-link delivery as for uploads (upserted by File_Id__c = fileId).
    expect(
      linkUpserts()
        .map((c) => decodeURIComponent(c.path.split('/').pop()!))
        .sort(),
    ).toEqual([...smallIds, largeId].sort());
    // The file service serves a migrated file like an uploaded one.
    const files = awsFileService(dynamo.db, s3.client, { tableName: dynamo.tables.files, bucket });
    const got = await files.get(smallIds[1]!);
    expect(got).toMatchObject({ status: 'AVAILABLE', recordId: CASE });
    expect(Buffer.from(await (await fetch(got.downloadUrl!)).arrayBuffer())).toEqual(small);
    // Without --delete-after-copy nothing is deleted; no multipart upload is left open.
    expect(deletes()).toHaveLength(0);
    expect((await s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toHaveLength(0);
  });

  test('a file linked to no record is skipped, and stays', async () => {
    sf.seedFile({ title: 'Private note', extension: 'txt', content: Buffer.from('mine'), links: [] });
    const { migration, rows } = await hub().migrate({ where: "FileExtension = 'txt'" });
    expect(migration.counts).toMatchObject({ considered: 1, skipped: 1, moved: 0 });
    expect(rows[0]).toMatchObject({ status: 'SKIPPED', reason: { code: 'NO_RECORD_LINK' } });
    expect(await objectKeys()).toEqual([]);
  });

  test('batches are bounded and continue in new messages (keyset paging on Id)', async () => {
    for (let i = 0; i < 5; i++)
      sf.seedFile({ title: `Photo ${i}`, extension: 'png', content: Buffer.from(`photo ${i}`), links: [ACCOUNT] });
    const h = hub({ batchSize: 2 });
    const accepted = await h.call('POST', '/v1/files/migrations', { connectorId: 'sf', where: "Title LIKE 'Photo%'" });
    const batches = await h.drain();
    // 2 + 2 + 1 files, then an empty page ends it.
    expect(batches).toEqual(['batch 0', 'batch 1', 'batch 2', 'batch 3']);
    const queries = sf.calls.filter(
      (c) => c.path === '/query' && /FROM ContentVersion WHERE IsLatest/.test(c.query.q ?? ''),
    );
    expect(queries.map((c) => / AND Id > '(\w+)'/.exec(c.query.q!)?.[1] ?? null)).toHaveLength(4);
    expect(queries[0]!.query.q).toMatch(/ORDER BY Id LIMIT 2$/);
    expect((await h.call('GET', `/v1/files/migrations/${accepted.body.migrationId}`)).body.counts).toMatchObject({
      moved: 5,
      considered: 5,
    });
  });
});

describe('one object shared by the records of a document', () => {
  test('deleting one record keeps the object for the others; the last one takes it', async () => {
    const f = sf.seedFile({
      title: 'Shared',
      extension: 'txt',
      content: Buffer.from('shared'),
      links: [ACCOUNT, CASE],
    });
    await hub().migrate({ where: "Title = 'Shared'" });
    const [first, second] = [ACCOUNT, CASE].map((r) => migratedFileId('sf', f.versionId, r));
    const files = awsFileService(dynamo.db, s3.client, { tableName: dynamo.tables.files, bucket });
    await files.delete(first!);
    expect(await fileRecord(first!)).toBeUndefined();
    const other = await files.get(second!);
    expect(Buffer.from(await (await fetch(other.downloadUrl!)).arrayBuffer()).toString()).toBe('shared');
    await files.delete(second!);
    expect(await objectKeys()).toEqual([]);
  });

  test('with malware scanning, records wait in SCANNING and one scan result applies to every record of the object', async () => {
    const f = sf.seedFile({
      title: 'Scanned',
      extension: 'pdf',
      content: Buffer.from('clean'),
      links: [ACCOUNT, CASE],
    });
    const h = hub({ malwareScan: true });
    await h.call('POST', '/v1/files/migrations', { connectorId: 'sf', where: "Title = 'Scanned'" });
    await h.drain();
    const ids = [ACCOUNT, CASE].map((r) => migratedFileId('sf', f.versionId, r));
    for (const id of ids)
      expect(await fileRecord(id)).toMatchObject({ status: 'SCANNING', link: { status: 'WAITING_FOR_UPLOAD' } });
    expect(linkUpserts()).toHaveLength(0);
    const scans = new ScanResultRunner({
      files: new DynamoFileRepository(dynamo.db, dynamo.tables.files),
      bucket,
      linkQueue: { enqueueFileLink: async (id) => void h.messages.push({ kind: 'fileLink', fileId: id }) },
      logger: silent,
    });
    await scans.process({
      source: 'aws.guardduty',
      'detail-type': SCAN_RESULT_DETAIL_TYPE,
      detail: {
        s3ObjectDetails: { bucketName: bucket, objectKey: `files/${ids[0]}` },
        scanResultDetails: { scanResultStatus: 'NO_THREATS_FOUND' },
      },
    });
    await h.drain();
    for (const id of ids)
      expect(await fileRecord(id)).toMatchObject({
        status: 'AVAILABLE',
        scanResult: 'NO_THREATS_FOUND',
        link: { status: 'DELIVERED' },
      });
    expect(linkUpserts()).toHaveLength(2);
  });
});

describe('dry run, failures, resume', () => {
  test('--dry-run lists what would move and bytes freed, and changes nothing', async () => {
    const a = Buffer.alloc(1000, 1);
    const b = Buffer.alloc(2500, 2);
    sf.seedFile({ title: 'A', extension: 'pdf', content: a, links: [ACCOUNT] });
    sf.seedFile({ title: 'B', extension: 'pdf', content: b, links: [CASE] });
    sf.seedFile({ title: 'Orphan', extension: 'pdf', content: b, links: [] });
    const { migration, rows } = await hub().migrate({
      where: "FileExtension = 'pdf'",
      dryRun: true,
      deleteAfterCopy: true,
    });
    expect(migration).toMatchObject({
      status: 'SUCCEEDED',
      dryRun: true,
      counts: { wouldMove: 2, moved: 0, skipped: 1, bytes: 3500, bytesFreed: 3500 },
    });
    expect(rows.map((r) => r.status)).toEqual(['WOULD_MOVE', 'WOULD_MOVE', 'SKIPPED']);
    expect(await objectKeys()).toEqual([]);
    expect(sf.calls.filter((c) => c.path.endsWith('/VersionData'))).toHaveLength(0);
    expect(deletes()).toHaveLength(0);
  });

  test('a download that breaks mid-stream fails that file only (nothing in S3, nothing deleted); the next run moves it', async () => {
    const big = randomBytes(THRESHOLD + 4 * 1024 * 1024);
    const ok = sf.seedFile({ title: 'Fine', extension: 'txt', content: Buffer.from('fine'), links: [ACCOUNT] });
    const broken = sf.seedFile({ title: 'Broken', extension: 'bin', content: big, links: [ACCOUNT] });
    sf.failDownload(broken.versionId, THRESHOLD + 100_000); // after the first part was uploaded
    const h = hub();
    const first = await h.migrate({ where: 'ContentSize > 0', deleteAfterCopy: true });
    expect(first.migration.counts).toMatchObject({ moved: 1, failed: 1, deleted: 1 });
    expect(first.byTitle('Broken')).toMatchObject({ status: 'FAILED', fileIds: [] });
    expect(first.byTitle('Broken').reason!.message).toMatch(/copy failed|broke off|aborted|socket|ECONNRESET/i);
    // Verified copies only: the broken file's multipart upload was aborted, its document is still there.
    expect(await objectKeys()).toEqual([`files/${migratedFileId('sf', ok.versionId, ACCOUNT)}`]);
    expect((await s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toHaveLength(0);
    expect(deletes().map((c) => c.path)).toEqual([`/sobjects/ContentDocument/${ok.documentId}`]);
    expect(sf.records.has(broken.documentId)).toBe(true);

    // Run again: the moved file is gone from Salesforce (not matched), the broken one moves now.
    const second = await h.migrate({ where: 'ContentSize > 0', deleteAfterCopy: true });
    expect(second.migration.counts).toMatchObject({ considered: 1, moved: 1, failed: 0, deleted: 1 });
    const id = migratedFileId('sf', broken.versionId, ACCOUNT);
    expect(md5(await objectBytes(`files/${id}`))).toBe(md5(big));
    expect(sf.records.has(broken.documentId)).toBe(false);
  });

  test('resume: files already moved are skipped by their ContentVersion id', async () => {
    const one = sf.seedFile({ title: 'One', extension: 'txt', content: Buffer.from('one'), links: [ACCOUNT] });
    const h = hub();
    await h.migrate({ where: "FileExtension = 'txt'" });
    sf.seedFile({ title: 'Two', extension: 'txt', content: Buffer.from('two'), links: [ACCOUNT] });
    const again = await h.migrate({ where: "FileExtension = 'txt'" });
    expect(again.migration.counts).toMatchObject({ considered: 2, moved: 1, skipped: 1 });
    expect(again.byTitle('One')).toMatchObject({
      status: 'SKIPPED',
      reason: { code: 'ALREADY_MOVED' },
      fileIds: [migratedFileId('sf', one.versionId, ACCOUNT)],
    });
    expect(sf.calls.filter((c) => c.path === `/sobjects/ContentVersion/${one.versionId}/VersionData`)).toHaveLength(1);
  });

  test('a batch interrupted after some files (the worker died) runs again without a second copy or record', async () => {
    sf.seedFile({ title: 'X', extension: 'txt', content: Buffer.from('x'), links: [ACCOUNT] });
    const h = hub();
    const accepted = await h.call('POST', '/v1/files/migrations', { connectorId: 'sf', where: "Title = 'X'" });
    const first = h.messages.shift()!;
    // The first delivery dies after copying: its lease is held, then passes.
    await h.runner.process(first as FileMigrationMessage, sqsRecord(JSON.stringify(first)), () => 1_000);
    const m = await h.store.get(accepted.body.migrationId);
    expect(m!.seq).toBe(1);
    // A duplicate of batch 0 (SQS at-least-once) is stale now and does nothing.
    await h.runner.process(first as FileMigrationMessage, sqsRecord(JSON.stringify(first)));
    expect(sf.calls.filter((c) => c.path.endsWith('/VersionData'))).toHaveLength(1);
    await h.drain();
    expect((await h.call('GET', `/v1/files/migrations/${accepted.body.migrationId}`)).body).toMatchObject({
      status: 'SUCCEEDED',
      counts: { moved: 1 },
    });
  });

  test('a duplicate of the batch in progress waits for the lease instead of running it twice', async () => {
    sf.seedFile({ title: 'Y', extension: 'txt', content: Buffer.from('y'), links: [ACCOUNT] });
    const h = hub();
    const accepted = await h.call('POST', '/v1/files/migrations', { connectorId: 'sf', where: "Title = 'Y'" });
    expect(
      await h.store.lease(
        accepted.body.migrationId,
        0,
        'other-worker',
        new Date(Date.now() + 60_000).toISOString(),
        new Date().toISOString(),
      ),
    ).toBe(true);
    const msg = h.messages.shift()!;
    await expect(h.runner.process(msg as FileMigrationMessage, sqsRecord(JSON.stringify(msg)))).rejects.toBeInstanceOf(
      RetryLaterError,
    );
    expect(sf.calls.filter((c) => c.path.endsWith('/VersionData'))).toHaveLength(0);
  });
});

describe('--delete-after-copy deletes a document only after a verified copy and its link records', () => {
  test('deleted once every link record exists; the audit row says so and bytes freed are counted', async () => {
    const f = sf.seedFile({ title: 'Quote', extension: 'pdf', content: Buffer.from('quote'), links: [ACCOUNT, CASE] });
    const h = hub();
    const { migration, byTitle } = await h.migrate({ where: "Title = 'Quote'", deleteAfterCopy: true });
    expect(migration).toMatchObject({
      status: 'SUCCEEDED',
      phase: 'DELETE',
      counts: { moved: 1, deleted: 1, bytesFreed: 5 },
    });
    expect(byTitle('Quote')).toMatchObject({ status: 'DELETED', deletePending: false });
    // Order in Salesforce: both link records upserted before the document was deleted.
    const order = sf.calls.filter((c) => c.method === 'PATCH' || c.method === 'DELETE').map((c) => c.method);
    expect(order).toEqual(['PATCH', 'PATCH', 'DELETE']);
    expect(sf.records.has(f.documentId)).toBe(false);
    expect([...sf.records.values()].filter((r) => r.attributes.type === 'ContentVersion')).toHaveLength(0);
  });

  test('a link record that cannot be created keeps the document', async () => {
    sf.seedFile({ title: 'Kept', extension: 'pdf', content: Buffer.from('kept'), links: [ACCOUNT] });
    sf.fail(
      'PATCH /sobjects/CrmBridge_File__c',
      { status: 400, errors: [{ errorCode: 'INVALID_FIELD', message: 'No such column' }] },
      5,
    );
    const { migration, byTitle } = await hub().migrate({ where: "Title = 'Kept'", deleteAfterCopy: true });
    expect(migration.counts).toMatchObject({ moved: 1, deleted: 0 });
    expect(byTitle('Kept')).toMatchObject({ status: 'MOVED', deletePending: false, reason: { code: 'LINK_FAILED' } });
    expect(deletes()).toHaveLength(0);
  });

  test('a version uploaded after the copy keeps the document', async () => {
    const f = sf.seedFile({ title: 'Draft', extension: 'docx', content: Buffer.from('v1'), links: [ACCOUNT] });
    const h = hub();
    await h.call('POST', '/v1/files/migrations', {
      connectorId: 'sf',
      where: "Title = 'Draft'",
      deleteAfterCopy: true,
    });
    // Run the copy and its link, then a user uploads version 2 before the delete phase.
    while (h.messages.length && !(h.messages[0]!.kind === 'fileMigration' && h.messages[0]!.seq === 2))
      await h.drain(1);
    sf.seedVersion(f.documentId, Buffer.from('v2'));
    await h.drain();
    expect(deletes()).toHaveLength(0);
    expect(sf.records.has(f.documentId)).toBe(true);
  });

  test('a checksum that does not match the bytes: not stored, not recorded, not deleted', async () => {
    const bad = sf.seedFile({
      title: 'Tampered',
      extension: 'pdf',
      content: Buffer.from('what arrives'),
      links: [ACCOUNT],
      checksum: md5(Buffer.from('what Salesforce stored')),
    });
    const big = randomBytes(THRESHOLD + 1000);
    const badLarge = sf.seedFile({
      title: 'Tampered large',
      extension: 'bin',
      content: big,
      links: [ACCOUNT],
      checksum: '0'.repeat(32),
    });
    const { migration, byTitle } = await hub().migrate({ where: 'ContentSize > 0', deleteAfterCopy: true });
    expect(migration.counts).toMatchObject({ moved: 0, failed: 2, deleted: 0 });
    expect(byTitle('Tampered')).toMatchObject({
      status: 'FAILED',
      md5: md5(Buffer.from('what arrives')),
      reason: { code: 'CHECKSUM_MISMATCH' },
    });
    expect(byTitle('Tampered large')).toMatchObject({ status: 'FAILED', reason: { code: 'CHECKSUM_MISMATCH' } });
    expect(await objectKeys()).toEqual([]);
    expect((await s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toHaveLength(0);
    expect(await fileRecord(migratedFileId('sf', bad.versionId, ACCOUNT))).toBeUndefined();
    expect(await fileRecord(migratedFileId('sf', badLarge.versionId, ACCOUNT))).toBeUndefined();
    expect(deletes()).toHaveLength(0);
  });

  test('a size that does not match ContentSize is refused too', async () => {
    const f = sf.seedFile({ title: 'Short', extension: 'txt', content: Buffer.from('12345'), links: [ACCOUNT] });
    sf.records.get(f.versionId)!.ContentSize = 6;
    sf.records.get(f.versionId)!.Checksum = null;
    const { byTitle } = await hub().migrate({ where: "Title = 'Short'", deleteAfterCopy: true });
    expect(byTitle('Short')).toMatchObject({ status: 'FAILED', reason: { code: 'SIZE_MISMATCH' } });
    expect(await objectKeys()).toEqual([]);
    expect(deletes()).toHaveLength(0);
  });
});

describe('the API refuses bad migrations with a 4xx, never a 500, and nothing is queued', () => {
  const refused = async (body: unknown, status = 400) => {
    const h = hub();
    const res = await h.call('POST', '/v1/files/migrations', body);
    expect(res.status).toBe(status);
    expect(h.messages).toHaveLength(0);
    return res.body.error as { code: string; message: string };
  };

  test.each([
    ["Title = 'x'; DELETE FROM Account", /semicolon/],
    [
      "Id IN (SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '001000000000001')",
      /subqueries/,
    ],
    ['FirstPublishLocationId IN (SELECT Id FROM Account)', /subqueries/],
    ["FirstPublishLocation.Name = 'Acme'", /dot/],
    ["Title = 'x' LIMIT 1", /unexpected "LIMIT"/],
    ["Title = 'x' ORDER BY Title", /unexpected "ORDER"/],
    ["Title = 'x' WITH SECURITY_ENFORCED", /unexpected "WITH"/],
    ["Title = 'x') OR (Id != null", /unexpected "\)"/],
    ["Title = 'unterminated", /not closed/],
    ['Title = :name', /colon/],
    ['Title = Name', /value/],
    ["Title = 'x' /* comment */", /"\/"/],
    ['SELECT Id FROM Account', /field name/],
    [`${'('.repeat(7)}Title = 'x'${')'.repeat(7)}`, /nest deeper/],
    [Array.from({ length: 31 }, (_, i) => `ContentSize > ${i}`).join(' OR '), /more than 30 comparisons/],
    [`ContentSize IN (${Array.from({ length: 201 }, (_, i) => i).join(', ')})`, /more than 200 values/],
  ])('where %#: %s', async (where, message) => {
    const error = await refused({ connectorId: 'sf', where });
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toMatch(message);
  });

  test('length, strict body, connector checks', async () => {
    expect((await refused({ connectorId: 'sf', where: `Title = '${'x'.repeat(1000)}'` })).message).toMatch(
      /1000 characters/,
    );
    expect((await refused({ connectorId: 'sf', where: "Title = 'x'", extra: true })).message).toMatch(/extra/);
    expect((await refused({ connectorId: 'sf', where: "Title = 'x'", dryRun: 'yes' })).code).toBe('INVALID_REQUEST');
    expect((await refused({ connectorId: 'sf' })).code).toBe('INVALID_REQUEST');
    expect((await refused({ connectorId: 'nope', where: "Title = 'x'" }, 404)).code).toBe('CONNECTOR_NOT_FOUND');
    await dynamo.db.send(new PutCommand({ TableName: dynamo.tables.connectors, Item: sfRow({ fileLink: undefined }) }));
    expect((await refused({ connectorId: 'sf', where: "Title = 'x'" })).code).toBe('FILE_LINK_NOT_CONFIGURED');
    await dynamo.db.send(new PutCommand({ TableName: dynamo.tables.connectors, Item: sfRow({ enabled: false }) }));
    expect((await refused({ connectorId: 'sf', where: "Title = 'x'" }, 409)).code).toBe('CONNECTOR_DISABLED');
  });

  test('what is allowed is rewritten in canonical form, and that is what Salesforce gets', async () => {
    sf.seedFile({ title: "O'Brien", extension: 'pdf', content: Buffer.from('x'), links: [ACCOUNT] });
    const h = hub();
    const accepted = await h.call('POST', '/v1/files/migrations', {
      connectorId: 'sf',
      where:
        "title = 'O\\'Brien' and (ContentSize >= 1 or not FileExtension in ('exe', 'bat')) AND CreatedDate > 2020-01-01T00:00:00Z",
    });
    expect(accepted.status).toBe(202);
    const view = (await h.call('GET', `/v1/files/migrations/${accepted.body.migrationId}`)).body;
    expect(view.where).toBe(
      "(title = 'O\\'Brien' AND (ContentSize >= 1 OR NOT (FileExtension IN ('exe', 'bat'))) AND CreatedDate > 2020-01-01T00:00:00Z)",
    );
    await h.drain();
    expect((await h.call('GET', `/v1/files/migrations/${accepted.body.migrationId}`)).body.counts).toMatchObject({
      moved: 1,
    });
  });

  test('unknown migrations and bad page tokens are 4xx', async () => {
    const h = hub();
    expect((await h.call('GET', '/v1/files/migrations/nope')).status).toBe(404);
    const accepted = await h.call('POST', '/v1/files/migrations', { connectorId: 'sf', where: "Title = 'x'" });
    expect(
      (
        await h.call('GET', `/v1/files/migrations/${accepted.body.migrationId}/files`, undefined, {
          nextToken: Buffer.from('pk#other').toString('base64url'),
        })
      ).status,
    ).toBe(400);
    expect(
      (await h.call('GET', `/v1/files/migrations/${accepted.body.migrationId}/files`, undefined, { limit: '1000' }))
        .status,
    ).toBe(400);
  });
});
