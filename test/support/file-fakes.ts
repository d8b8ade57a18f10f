import type { FileLink, FileRecord, FileStatus } from '../../lambdas/files/file-link';
import type { FilePageKey, FileRepository, FileTransfer, MultipartOutcome } from '../../lambdas/files/file-ports';

/**
 * In-memory stand-ins for the file service's ports, keeping the conditions the
 * ports promise (the DynamoDB and S3 adapters keep them with condition
 * expressions and S3's own checks). Records are copied in and out, as a store would.
 */
export class MemoryFileRepository implements FileRepository {
  readonly records = new Map<string, FileRecord>();
  /** Runs after each get: a test can change the stored record there, as a concurrent writer would. */
  afterGet?: (fileId: string) => void;

  async create(record: FileRecord): Promise<void> {
    if (this.records.has(record.fileId)) throw new Error(`record ${record.fileId} exists`);
    this.records.set(record.fileId, structuredClone(record));
  }

  async get(fileId: string): Promise<FileRecord | undefined> {
    const record = this.records.get(fileId);
    const copy = record && structuredClone(record);
    this.afterGet?.(fileId);
    return copy;
  }

  async completePending(
    fileId: string,
    change: { status: FileRecord['status']; updatedAt: string; link?: FileLink; unlessScanned: boolean },
  ): Promise<FileRecord | undefined> {
    const record = this.records.get(fileId);
    if (!record || record.status !== 'PENDING' || (change.unlessScanned && record.scanResult !== undefined))
      return undefined;
    const { uploadId: _dropped, ...rest } = record;
    const next: FileRecord = {
      ...rest,
      status: change.status,
      updatedAt: change.updatedAt,
      ...(change.link && { link: change.link }),
    };
    this.records.set(fileId, next);
    return structuredClone(next);
  }

  async recordScan(
    fileId: string,
    change: { from: FileStatus; scanResult: string; updatedAt: string; status?: FileStatus; link?: FileLink },
  ): Promise<boolean> {
    const record = this.records.get(fileId);
    if (record?.status !== change.from) return false;
    record.scanResult = change.scanResult;
    record.updatedAt = change.updatedAt;
    if (change.status) record.status = change.status;
    if (change.link) record.link = structuredClone(change.link);
    return true;
  }

  async setLink(fileId: string, link: FileLink): Promise<boolean> {
    const record = this.records.get(fileId);
    if (!record) return false;
    record.link = structuredClone(link);
    return true;
  }

  async replaceFailedLink(fileId: string, code: string, link: FileLink): Promise<boolean> {
    const current = this.records.get(fileId)?.link;
    if (current?.status !== 'FAILED' || current.error?.code !== code) return false;
    return this.setLink(fileId, link);
  }

  async listByRecord(
    recordId: string,
    page: { limit: number; after?: FilePageKey; newestFirst: boolean },
  ): Promise<{ files: FileRecord[]; next?: FilePageKey }> {
    const order = (a: FileRecord, b: FileRecord) =>
      a.createdAt.localeCompare(b.createdAt) || a.fileId.localeCompare(b.fileId);
    const all = [...this.records.values()]
      .filter((r) => r.recordId === recordId)
      .sort((a, b) => (page.newestFirst ? order(b, a) : order(a, b)));
    const start = page.after ? all.findIndex((r) => r.fileId === page.after!.fileId) + 1 : 0;
    const files = all.slice(start, start + page.limit);
    const last = files[files.length - 1];
    const more = start + page.limit < all.length;
    return {
      files: structuredClone(files),
      ...(more && last && { next: { fileId: last.fileId, recordId, createdAt: last.createdAt } }),
    };
  }

  async delete(fileId: string): Promise<void> {
    this.records.delete(fileId);
  }
}

/** A bucket of object sizes; the test plays the client with `put` and `putPart`. */
export class MemoryFileTransfer implements FileTransfer {
  readonly objects = new Map<string, number>();
  readonly uploads = new Map<string, { key: string; parts: Map<number, { size: number; etag: string }> }>();
  readonly completeCalls: Array<{ key: string; uploadId: string }> = [];
  private seq = 0;

  /** What a client does with an upload URL: stores `size` bytes under the key. */
  put(key: string, size: number): void {
    this.objects.set(key, size);
  }

  /** What a client does with a part URL: the part's ETag. */
  putPart(uploadId: string, partNumber: number, size: number): string {
    const upload = this.uploads.get(uploadId);
    if (!upload) throw new Error(`no upload ${uploadId}`);
    const etag = `"etag-${uploadId}-${partNumber}-${size}"`;
    upload.parts.set(partNumber, { size, etag });
    return etag;
  }

  async uploadUrl(key: string, contentType: string): Promise<string> {
    return `https://bucket.test/${key}?put&type=${encodeURIComponent(contentType)}`;
  }

  async startMultipart(key: string): Promise<string> {
    const uploadId = `upload-${++this.seq}`;
    this.uploads.set(uploadId, { key, parts: new Map() });
    return uploadId;
  }

  async partUrl(key: string, uploadId: string, partNumber: number): Promise<string> {
    return `https://bucket.test/${key}?uploadId=${uploadId}&partNumber=${partNumber}`;
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: Array<{ partNumber: number; etag: string }>,
  ): Promise<MultipartOutcome> {
    this.completeCalls.push({ key, uploadId });
    const upload = this.uploads.get(uploadId);
    if (!upload) return { outcome: 'gone' };
    if (parts.some((p) => upload.parts.get(p.partNumber)?.etag !== p.etag))
      return { outcome: 'refused', reason: 'InvalidPart' };
    this.objects.set(
      key,
      parts.reduce((sum, p) => sum + upload.parts.get(p.partNumber)!.size, 0),
    );
    this.uploads.delete(uploadId);
    return { outcome: 'assembled' };
  }

  async abortMultipart(_key: string, uploadId: string): Promise<void> {
    this.uploads.delete(uploadId);
  }

  async storedSize(key: string): Promise<number | undefined> {
    return this.objects.get(key);
  }

  async downloadUrl(key: string, headers: { contentDisposition: string; contentType: string }): Promise<string> {
    return `https://bucket.test/${key}?get&disposition=${encodeURIComponent(headers.contentDisposition)}`;
  }

  async deleteObject(key: string): Promise<void> {
    this.objects.delete(key);
  }
}
