import type { Connector } from '../../../lambdas/connectors/schema';
import { FileService, type FileServiceConfig } from '../../../lambdas/files/file-service';
import type { AppError } from '../../../lambdas/shared/errors';
import { MemoryFileRepository, MemoryFileTransfer } from '../../support/file-fakes';

/**
 * The file service's rules on in-memory ports (test/support/file-fakes.ts): no
 * emulator and no SDK. What DynamoDB and S3 are asked is covered by
 * file-service.test.ts (SDK mocks) and the integration tests (emulators).
 */
const MiB = 1024 ** 2;
const RECORD = '001000000000001AAA';

const salesforce = { connectorId: 'sf', type: 'salesforce', enabled: true, fileLink: {} } as unknown as Connector;

function setup(config: FileServiceConfig = {}) {
  const repo = new MemoryFileRepository();
  const transfer = new MemoryFileTransfer();
  const queued: string[] = [];
  const errors: Array<{ message: string; extra: unknown }> = [];
  let refuseQueue = false;
  let ids = 0;
  const service = new FileService(repo, transfer, {
    connectors: { get: async (id) => (id === 'sf' ? salesforce : undefined) },
    linkQueue: {
      enqueueFileLink: async (fileId) => {
        if (refuseQueue) throw new Error('queue down');
        queued.push(fileId);
      },
    },
    logger: { error: (message, extra) => errors.push({ message, extra }) },
    newId: () => `f${++ids}`,
    ...config,
  });
  return { service, repo, transfer, queued, errors, refuseQueue: (on: boolean) => (refuseQueue = on) };
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (err: AppError) => `${err.code} ${err.httpStatus}`,
  );

/** A file linked to RECORD through the salesforce connector. */
const LINKED = { recordId: RECORD, link: { connectorId: 'sf' } };

/** Creates a one-byte text file and uploads it (not yet completed). */
async function uploadedSmall(s: ReturnType<typeof setup>, fileName: string, extra: object = {}) {
  const created = await s.service.create({ fileName, contentType: 'text/plain', size: 1, ...extra });
  s.transfer.put(`files/${created.fileId}`, 1);
  return created;
}

/** Creates a multipart file and uploads all of its parts; the parts to complete it with. */
async function uploadedMultipart(s: ReturnType<typeof setup>, size: number, extra: object = {}) {
  const created = await s.service.create({
    fileName: 'big.bin',
    contentType: 'application/octet-stream',
    size,
    ...extra,
  });
  const { partSize, partCount } = created.upload as { partSize: number; partCount: number };
  const uploadId = s.repo.records.get(created.fileId)!.uploadId!;
  const parts = Array.from({ length: partCount }, (_, i) => ({
    partNumber: i + 1,
    etag: s.transfer.putPart(uploadId, i + 1, Math.min(partSize, size - i * partSize)),
  }));
  return { fileId: created.fileId, uploadId, parts };
}

describe('FileService rules on in-memory ports', () => {
  test('a small file is one PUT and AVAILABLE once the object has its declared size', async () => {
    const s = setup();
    const created = await s.service.create({ fileName: 'a.txt', contentType: 'text/plain', size: 5, recordId: RECORD });
    expect(created.upload).toEqual({
      method: 'PUT',
      url: expect.stringContaining('files/f1?put'),
      headers: { 'content-type': 'text/plain' },
    });
    expect(s.repo.records.get('f1')).toMatchObject({ status: 'PENDING', key: 'files/f1' });
    expect(await code(s.service.complete('f1'))).toBe('SIZE_MISMATCH 409'); // nothing uploaded yet
    s.transfer.put('files/f1', 4);
    expect(await code(s.service.complete('f1'))).toBe('SIZE_MISMATCH 409'); // short
    s.transfer.put('files/f1', 5);
    const done = await s.service.complete('f1');
    expect(done).toMatchObject({
      status: 'AVAILABLE',
      downloadUrl: expect.stringContaining(encodeURIComponent('attachment; filename="a.txt"')),
    });
    expect(s.repo.records.get('f1')!.status).toBe('AVAILABLE');
  });

  test('multipart: first part URLs only when asked, parts checked before the transfer sees them', async () => {
    const s = setup();
    const created = await s.service.create({
      fileName: 'b.bin',
      contentType: 'application/octet-stream',
      size: 30 * MiB,
      partUrls: 2,
    });
    expect(created.upload).toMatchObject({ partSize: 8 * MiB, partCount: 4 });
    expect((created.upload as { parts: Array<{ partNumber: number }> }).parts.map((p) => p.partNumber)).toEqual([1, 2]);
    const refreshed = await s.service.refreshPartUrls(created.fileId, [3, 4]);
    expect(refreshed.parts.map((p) => p.url)).toEqual([
      expect.stringContaining('partNumber=3'),
      expect.stringContaining('partNumber=4'),
    ]);
    expect(await code(s.service.refreshPartUrls(created.fileId, [5]))).toBe('INVALID_REQUEST 400');
    expect(await code(s.service.complete(created.fileId, [{ partNumber: 1, etag: 'x' }]))).toBe('INVALID_REQUEST 400');
    expect(await code(s.service.complete(created.fileId))).toBe('INVALID_REQUEST 400');
    expect(s.transfer.completeCalls).toHaveLength(0);
  });

  test('multipart: a wrong ETag is SIZE_MISMATCH and the upload stays resumable; a lost answer completes on retry', async () => {
    const s = setup();
    const { fileId, parts } = await uploadedMultipart(s, 20 * MiB);
    const wrong = parts.map((p, i) => (i === 0 ? { ...p, etag: '"other"' } : p));
    expect(await code(s.service.complete(fileId, wrong))).toBe('SIZE_MISMATCH 409');
    expect(s.repo.records.get(fileId)!.status).toBe('PENDING');
    expect(await s.service.complete(fileId, parts)).toMatchObject({ status: 'AVAILABLE', size: 20 * MiB });
    expect(s.repo.records.get(fileId)!.uploadId).toBeUndefined();
    // The same complete again (its first answer lost): the upload is gone, the object is whole, same answer.
    expect(await s.service.complete(fileId, parts)).toMatchObject({ status: 'AVAILABLE' });
  });

  test('a link is queued once, by the complete that makes the file AVAILABLE, even with two at once', async () => {
    const s = setup();
    const { fileId, parts } = await uploadedMultipart(s, 20 * MiB, LINKED);
    expect(s.repo.records.get(fileId)!.link).toMatchObject({ status: 'WAITING_FOR_UPLOAD' });
    const both = await Promise.all([s.service.complete(fileId, parts), s.service.complete(fileId, parts)]);
    expect(both.map((f) => f.status)).toEqual(['AVAILABLE', 'AVAILABLE']);
    expect(s.queued).toEqual([fileId]);
    expect(s.repo.records.get(fileId)!.link).toMatchObject({ status: 'PENDING' });
  });

  test('a link the queue refused is recorded FAILED, and completing again queues it once more', async () => {
    const s = setup();
    s.refuseQueue(true);
    const created = await uploadedSmall(s, 'c.txt', LINKED);
    const first = await s.service.complete(created.fileId);
    expect(first).toMatchObject({
      status: 'AVAILABLE',
      link: { status: 'FAILED', error: { code: 'QUEUE_UNAVAILABLE', retryable: true } },
    });
    expect(s.repo.records.get(created.fileId)!.link).toMatchObject({ status: 'FAILED' });
    expect(s.errors.map((e) => e.message)).toEqual(['file link could not be queued']);
    s.refuseQueue(false);
    expect(await s.service.complete(created.fileId)).toMatchObject({ link: { status: 'PENDING' } });
    expect(s.queued).toEqual([created.fileId]);
    // Nothing left to re-queue: a third complete queues nothing.
    await s.service.complete(created.fileId);
    expect(s.queued).toEqual([created.fileId]);
  });

  test('links are refused at create time when they cannot work, before anything is stored', async () => {
    const s = setup();
    const create = (extra: object) =>
      code(s.service.create({ fileName: 'x', contentType: 'text/plain', size: 1, ...extra }));
    expect(await create({ link: { connectorId: 'sf' } })).toBe('INVALID_REQUEST 400');
    expect(await create({ recordId: 'R1', link: { connectorId: 'sf' } })).toBe('INVALID_REQUEST 400');
    expect(await create({ recordId: RECORD, link: { connectorId: 'nope' } })).toBe('CONNECTOR_NOT_FOUND 404');
    expect(await create({ size: 10 * 1024 ** 4 })).toBe('FILE_TOO_LARGE 413');
    expect(s.repo.records.size).toBe(0);
    expect(s.transfer.uploads.size).toBe(0);
  });

  describe('with malware scanning', () => {
    test('complete makes the file SCANNING; a result recorded first decides at once', async () => {
      const s = setup({ malwareScan: true });
      const a = await uploadedSmall(s, 'a');
      expect(await s.service.complete(a.fileId)).toMatchObject({ status: 'SCANNING' });
      expect(await s.service.complete(a.fileId)).toMatchObject({ status: 'SCANNING' }); // already completed

      const b = await uploadedSmall(s, 'b');
      s.repo.records.get(b.fileId)!.scanResult = 'THREATS_FOUND';
      expect(await s.service.complete(b.fileId)).toMatchObject({ status: 'QUARANTINED', scanResult: 'THREATS_FOUND' });
      expect(s.errors.map((e) => e.message)).toEqual(['file quarantined: the malware scan found a threat']);
      expect(await code(s.service.complete(b.fileId))).toBe('FILE_QUARANTINED 409');
      expect(await s.service.get(b.fileId)).not.toHaveProperty('downloadUrl');
    });

    test('a result that arrives between the read and the write is applied, not overwritten', async () => {
      const s = setup({ malwareScan: true });
      const c = await uploadedSmall(s, 'c', LINKED);
      let reads = 0;
      s.repo.afterGet = (id) => {
        if (++reads === 1) s.repo.records.get(id)!.scanResult = 'NO_THREATS_FOUND';
      };
      expect(await s.service.complete(c.fileId)).toMatchObject({
        status: 'AVAILABLE',
        downloadUrl: expect.any(String),
      });
      expect(s.queued).toEqual([c.fileId]);
    });
  });

  test('a file deleted while it is completed stays deleted', async () => {
    const s = setup();
    const d = await uploadedSmall(s, 'd');
    s.repo.afterGet = (id) => s.repo.records.delete(id);
    expect(await code(s.service.complete(d.fileId))).toBe('FILE_NOT_FOUND 404');
    expect(s.repo.records.size).toBe(0);
  });

  test('lists pages by record, oldest or newest first; a token fits only its own listing', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const s = setup({ now: () => (clock += 1000) });
    for (let i = 0; i < 5; i++)
      await s.service.create({ fileName: `n${i}`, contentType: 'text/plain', size: 1, recordId: 'R1' });
    await s.service.create({ fileName: 'other', contentType: 'text/plain', size: 1, recordId: 'R2' });
    const names = async (order: 'oldest' | 'newest') => {
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await s.service.listByRecord('R1', 2, token, order);
        seen.push(...page.files.map((f) => f.fileName));
        token = page.nextToken;
      } while (token);
      return seen;
    };
    expect(await names('oldest')).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    expect(await names('newest')).toEqual(['n4', 'n3', 'n2', 'n1', 'n0']);
    const { nextToken } = await s.service.listByRecord('R1', 2);
    expect(await code(s.service.listByRecord('R2', 2, nextToken))).toBe('INVALID_REQUEST 400');
    expect(await code(s.service.listByRecord('R1', 2, 'not-a-token'))).toBe('INVALID_REQUEST 400');
    const extraKey = Buffer.from(
      JSON.stringify({ fileId: 'f1', recordId: 'R1', createdAt: 'x', status: 'PENDING' }),
    ).toString('base64url');
    expect(await code(s.service.listByRecord('R1', 2, extraKey))).toBe('INVALID_REQUEST 400');
  });

  test('delete drops the unfinished upload, the object and the record', async () => {
    const s = setup();
    const { fileId, uploadId } = await uploadedMultipart(s, 20 * MiB);
    s.transfer.put(`files/${fileId}`, 3);
    await s.service.delete(fileId);
    expect(s.transfer.uploads.has(uploadId)).toBe(false);
    expect(s.transfer.objects.has(`files/${fileId}`)).toBe(false);
    expect(await code(s.service.get(fileId))).toBe('FILE_NOT_FOUND 404');
    expect(await code(s.service.delete(fileId))).toBe('FILE_NOT_FOUND 404');
  });
});
