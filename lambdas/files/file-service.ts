import { randomUUID } from 'node:crypto';
import type { ConnectorSource } from '../domain/connector-source';
import {
  ConflictError,
  FileLinkNotConfiguredError,
  FileQuarantinedError,
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
} from '../shared/errors';
import { FILES_PREFIX, FILES_TABLE } from '../contract/storage';
import { S3_MAX_OBJECT_BYTES } from '../contract/env';
import { RECORD_ID } from '../shared/ids';
import * as z from 'zod';
import { linkView, type FileLink, type FileLinkQueue, type FileRecord, type FileStatus } from './file-link';
import type { FilePageKey, FileRepository, FileTransfer } from './file-ports';
import { blockedLink, statusForScanResult } from './scan-result';

export type { FileRecord } from './file-link';

const MiB = 1024 * 1024;
/** Real S3 needs parts of at least 5 MiB (but the last); 8 MiB also stays under the local emulator's 11 MiB body limit. */
export const MIN_PART_SIZE = 8 * MiB;
/** S3's limit on parts per upload. */
export const MAX_PARTS = 10_000;
/**
 * Parts per file this hub hands out. Lower than S3's 10,000 because every part
 * costs one presigned URL in the create answer (~1.7 KB on Lambda, with the
 * session token) and one ETag in the complete request: 2,000 keeps the answer
 * well under Lambda's 6 MB response limit and the complete body under the API's
 * request limit (5 MB + 64 KB), while 5 TiB still fits in parts of 2.6 GiB (S3 allows 5 GiB).
 */
export const MAX_PART_COUNT = 2_000;
/** S3's largest object. */
export const S3_MAX_OBJECT_SIZE = S3_MAX_OBJECT_BYTES;

export type UploadInstructions =
  | { method: 'PUT'; url: string; headers: Record<string, string> }
  | { partSize: number; partCount: number; parts: Array<{ partNumber: number; url: string }> };

/** The rules' settings; where records and objects live is the adapters' (adapters/aws-file-service.ts). */
export interface FileServiceConfig {
  /** @default 5 TiB */
  maxFileSize?: number;
  /** Files above this are always multipart. @default 8 MiB */
  multipartThreshold?: number;
  /** Checks `link.connectorId` at create time; without it, files with a link are refused. */
  connectors?: ConnectorSource;
  /** Queues a file's link when the file becomes AVAILABLE. */
  linkQueue?: FileLinkQueue;
  /**
   * Malware scanning is on (GuardDuty, or the local stand-in): complete() makes
   * a file SCANNING, and only a clean scan result makes it AVAILABLE (scan-result.ts).
   */
  malwareScan?: boolean;
  logger?: { error(message: string, ...extra: unknown[]): void };
  now?: () => number;
  newId?: () => string;
}

export interface CreateFileInput {
  fileName: string;
  contentType: string;
  size: number;
  recordId?: string;
  uploadedBy?: string;
  /** Multipart: URLs for the first this-many parts only (the rest from refreshPartUrls), to keep the answer small. */
  partUrls?: number;
  link?: { connectorId: string };
}

/** Part size that grows with the file so any size fits in MAX_PART_COUNT parts (whole MiB, at least MIN_PART_SIZE). */
export function partSizeFor(size: number): number {
  return Math.max(MIN_PART_SIZE, Math.ceil(size / MAX_PART_COUNT / MiB) * MiB);
}

export function partCountFor(size: number, partSize: number): number {
  return Math.max(1, Math.ceil(size / partSize));
}

/** Content-Disposition that keeps the original name for any browser (RFC 6266 + RFC 8187). */
export function attachmentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/** The public view of a file record. */
export function fileView(f: FileRecord, downloadUrl?: string) {
  return {
    fileId: f.fileId,
    fileName: f.fileName,
    contentType: f.contentType,
    size: f.size,
    status: f.status,
    ...(f.scanResult !== undefined && { scanResult: f.scanResult }),
    ...(f.recordId !== undefined && { recordId: f.recordId }),
    ...(f.uploadedBy !== undefined && { uploadedBy: f.uploadedBy }),
    createdAt: f.createdAt,
    ...(downloadUrl !== undefined && { downloadUrl }),
    ...(f.link !== undefined && { link: linkView(f.link) }),
  };
}

const QUEUE_UNAVAILABLE = 'QUEUE_UNAVAILABLE';

/** A page key of the byRecordId index: the table's key (fileId) and the index's (recordId, createdAt), nothing else. */
const pageKeySchema = z
  .object({
    [FILES_TABLE.partitionKey]: z.string().min(1).max(1024),
    [FILES_TABLE.byRecord.partitionKey]: z.string().min(1).max(1024),
    [FILES_TABLE.byRecord.sortKey]: z.string().min(1).max(64),
  })
  .strict();

/**
 * Files live in S3 and are uploaded and downloaded straight to and from it with
 * presigned URLs: the bytes never pass through Lambda, API Gateway or the CRM.
 * Metadata lives in the files table, looked up by recordId. This class holds the
 * rules of a file's life (sizes, parts, states, links); storage is behind the
 * ports of file-ports.ts (wired to DynamoDB and S3 by adapters/aws-file-service.ts).
 */
export class FileService {
  private readonly maxFileSize: number;
  private readonly threshold: number;
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(
    private readonly files: FileRepository,
    private readonly transfer: FileTransfer,
    private readonly config: FileServiceConfig = {},
  ) {
    this.maxFileSize = Math.min(config.maxFileSize ?? S3_MAX_OBJECT_SIZE, S3_MAX_OBJECT_SIZE);
    this.threshold = config.multipartThreshold ?? 8 * MiB;
    this.now = config.now ?? Date.now;
    this.newId = config.newId ?? randomUUID;
  }

  async create(input: CreateFileInput) {
    if (input.size > this.maxFileSize) {
      throw new PayloadTooLargeError(
        'FILE_TOO_LARGE',
        `The file is ${input.size} bytes; this hub accepts files up to ${this.maxFileSize} bytes`,
      );
    }
    // Checked before anything is created in S3: a refused link leaves nothing behind.
    if (input.link) await this.checkLink(input.link.connectorId, input.recordId);
    const fileId = this.newId();
    const now = new Date(this.now()).toISOString();
    const record: FileRecord = {
      fileId,
      fileName: input.fileName,
      contentType: input.contentType,
      size: input.size,
      status: 'PENDING',
      ...(input.recordId !== undefined && { recordId: input.recordId }),
      ...(input.uploadedBy !== undefined && { uploadedBy: input.uploadedBy }),
      createdAt: now,
      updatedAt: now,
      ...(input.link && {
        link: { connectorId: input.link.connectorId, status: 'WAITING_FOR_UPLOAD', attempts: 0 } satisfies FileLink,
      }),
      key: `${FILES_PREFIX}${fileId}`,
    };
    let upload: UploadInstructions;
    if (input.size > this.threshold) {
      const partSize = partSizeFor(input.size);
      record.uploadId = await this.transfer.startMultipart(record.key, input.contentType);
      record.partSize = partSize;
      const count = partCountFor(input.size, partSize);
      const first = Math.min(count, input.partUrls ?? count);
      upload = {
        partSize,
        partCount: count,
        parts: await this.partUrls(
          record,
          Array.from({ length: first }, (_, i) => i + 1),
        ),
      };
    } else {
      upload = {
        method: 'PUT',
        url: await this.transfer.uploadUrl(record.key, input.contentType),
        headers: { 'content-type': input.contentType },
      };
    }
    await this.files.create(record);
    return { fileId, status: 'PENDING' as const, upload, ...(record.link && { link: linkView(record.link) }) };
  }

  /**
   * A link needs the Salesforce record it points at and a usable target: an
   * enabled `salesforce` connector that declares `fileLink`. Refused here, at
   * create time, so a misconfiguration shows before anything is uploaded.
   */
  private async checkLink(connectorId: string, recordId: string | undefined): Promise<void> {
    if (recordId === undefined) {
      throw new InvalidRequestError(
        'Invalid body: $.recordId: is required with "link" (the Salesforce record the link record points at)',
      );
    }
    if (!RECORD_ID.test(recordId)) {
      throw new InvalidRequestError(
        `Invalid body: $.recordId: with "link" it must be a 15- or 18-character Salesforce record id; got ${JSON.stringify(recordId)}`,
      );
    }
    if (!this.config.connectors) throw new Error('FileService: a file link needs the connectors source');
    const connector = await this.config.connectors.get(connectorId);
    if (!connector) {
      throw new NotFoundError(
        'CONNECTOR_NOT_FOUND',
        `No connector "${connectorId}" is registered; add a salesforce connector with a "fileLink" section with "crm-bridge connectors put FILE"`,
      );
    }
    if (connector.type !== 'salesforce') {
      throw new FileLinkNotConfiguredError(
        `Connector "${connectorId}" is a ${connector.type} connector; "link.connectorId" must name a salesforce connector that declares "fileLink"`,
      );
    }
    if (!connector.fileLink) {
      throw new FileLinkNotConfiguredError(
        `Salesforce connector "${connectorId}" declares no "fileLink": add "fileLink": {} to its row (defaults: CrmBridge_File__c upserted by File_Id__c) and put it again with "crm-bridge connectors put FILE"`,
      );
    }
    if (!connector.enabled) {
      throw new ConflictError(
        'CONNECTOR_DISABLED',
        `Connector "${connectorId}" is disabled; an admin can enable it with "crm-bridge connectors enable ${connectorId}"`,
      );
    }
  }

  private async partUrls(record: FileRecord, partNumbers: number[]) {
    return Promise.all(
      partNumbers.map(async (partNumber) => ({
        partNumber,
        url: await this.transfer.partUrl(record.key, record.uploadId!, partNumber),
      })),
    );
  }

  private async load(fileId: string): Promise<FileRecord> {
    const record = await this.files.get(fileId);
    if (!record) throw new NotFoundError('FILE_NOT_FOUND', `No file "${fileId}" exists`);
    return record;
  }

  /** Fresh upload URLs for parts of a pending multipart upload (to resume after the first URLs expired). */
  async refreshPartUrls(fileId: string, partNumbers: number[]) {
    const record = await this.load(fileId);
    if (record.status !== 'PENDING' || !record.uploadId)
      throw new ConflictError('FILE_NOT_AVAILABLE', `File "${fileId}" is not a pending multipart upload`);
    const count = partCountFor(record.size, record.partSize!);
    const bad = partNumbers.filter((n) => n < 1 || n > count);
    if (bad.length) throw new InvalidRequestError(`Part numbers must be between 1 and ${count}; got ${bad.join(', ')}`);
    return { partSize: record.partSize!, parts: await this.partUrls(record, partNumbers) };
  }

  async complete(fileId: string, parts?: Array<{ partNumber: number; etag: string }>) {
    const record = await this.load(fileId);
    if (record.status === 'AVAILABLE') {
      // Completing twice is harmless; it only re-queues a link the queue refused the first time.
      const done =
        record.link?.status === 'FAILED' && record.link.error?.code === QUEUE_UNAVAILABLE
          ? await this.requeueLink(record)
          : record;
      return fileView(done, await this.downloadUrl(done));
    }
    if (record.status === 'QUARANTINED') throw new FileQuarantinedError(fileId);
    if (record.status !== 'PENDING') return fileView(record); // SCANNING or SCAN_FAILED: completed already
    if (record.uploadId) {
      if (!parts?.length)
        throw new InvalidRequestError(
          'This is a multipart upload: send {"parts": [{"partNumber", "etag"}]} with the ETag of every part',
        );
      // Checked before S3 sees them: completing with parts missing would consume the
      // upload and leave an object of the wrong size, instead of a resumable upload.
      const count = partCountFor(record.size, record.partSize!);
      const given = new Set(parts.map((p) => p.partNumber));
      const missing = Array.from({ length: count }, (_, i) => i + 1).filter((n) => !given.has(n));
      const extra = [...given].filter((n) => n > count);
      if (given.size !== parts.length || missing.length || extra.length) {
        throw new InvalidRequestError(
          `Send each of parts 1..${count} exactly once` +
            (missing.length ? `; missing: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}` : '') +
            (extra.length ? `; unknown: ${extra.slice(0, 20).join(', ')}` : '') +
            (given.size !== parts.length ? '; some part numbers are repeated' : ''),
        );
      }
      const assembled = await this.transfer.completeMultipart(record.key, record.uploadId, parts);
      if (assembled.outcome === 'refused') {
        throw new ConflictError(
          'SIZE_MISMATCH',
          `S3 refused to assemble the parts (${assembled.reason}): upload every part and send each part's ETag`,
        );
      }
      // 'gone': assembled by an earlier complete whose answer was lost, or aborted; the size check below tells which.
    } else if (parts?.length) {
      throw new InvalidRequestError('This file was uploaded with a single PUT: complete it with an empty body {}');
    }
    const stored = await this.transfer.storedSize(record.key);
    if (stored !== record.size) {
      throw new ConflictError(
        'SIZE_MISMATCH',
        stored === undefined
          ? `Nothing was uploaded for file "${fileId}" yet`
          : `The uploaded object is ${stored} bytes but ${record.size} were declared; upload the file again`,
      );
    }
    return this.finish(record, fileId);
  }

  /**
   * PENDING to AVAILABLE, or with malware scanning to SCANNING (or straight to
   * the scan's outcome when its result arrived first). Only the request that
   * makes the file AVAILABLE queues its link: a second or concurrent complete
   * finds it no longer PENDING and queues nothing.
   */
  private async finish(record: FileRecord, fileId: string, retried = false): Promise<ReturnType<typeof fileView>> {
    const scanned = record.scanResult;
    const status: FileStatus = !this.config.malwareScan
      ? 'AVAILABLE'
      : scanned === undefined
        ? 'SCANNING'
        : statusForScanResult(scanned);
    const link: FileLink | undefined =
      record.link &&
      (status === 'AVAILABLE'
        ? { ...record.link, status: 'PENDING' }
        : status === 'SCANNING'
          ? record.link
          : blockedLink(record.link, status, scanned!));
    // Refused when the file was deleted meanwhile (never resurrected), or when a scan
    // result arrived since the record was read (it changes the outcome: read it again).
    let done = await this.files.completePending(fileId, {
      status,
      updatedAt: new Date(this.now()).toISOString(),
      ...(link && { link }),
      unlessScanned: status === 'SCANNING',
    });
    if (!done) {
      const current = await this.files.get(fileId);
      if (!current) throw new NotFoundError('FILE_NOT_FOUND', `File "${fileId}" was deleted`);
      if (current.status === 'PENDING' && !retried) return this.finish(current, fileId, true); // its scan result arrived
      return fileView(current, current.status === 'AVAILABLE' ? await this.downloadUrl(current) : undefined); // completed concurrently
    }
    if (done.status === 'QUARANTINED')
      this.config.logger?.error('file quarantined: the malware scan found a threat', {
        fileId,
        scanResult: scanned,
        metric: 'FilesQuarantined',
      });
    if (done.status !== 'AVAILABLE') return fileView(done);
    if (done.link) done = await this.queueLink(done);
    return fileView(done, await this.downloadUrl(done));
  }

  /**
   * Queues the link of a file that has just become AVAILABLE. If the queue
   * refuses, the file stays AVAILABLE and the link is recorded as FAILED with
   * QUEUE_UNAVAILABLE (completing the file again queues it once more).
   */
  private async queueLink(file: FileRecord): Promise<FileRecord> {
    try {
      if (!this.config.linkQueue) throw new Error('FileService: no queue for file links is configured');
      await this.config.linkQueue.enqueueFileLink(file.fileId);
      return file;
    } catch (err) {
      this.config.logger?.error('file link could not be queued', { fileId: file.fileId, error: err });
      const link: FileLink = {
        ...file.link!,
        status: 'FAILED',
        error: {
          code: QUEUE_UNAVAILABLE,
          message: 'The link could not be queued; complete the file again (POST /v1/files/{fileId}/complete) to retry',
          retryable: true,
        },
      };
      await this.files.setLink(file.fileId, link); // false: deleted meanwhile, nothing to record
      return { ...file, link };
    }
  }

  /** A link the queue refused: back to PENDING and queued again; only one of concurrent completes does it. */
  private async requeueLink(file: FileRecord): Promise<FileRecord> {
    const link: FileLink = { connectorId: file.link!.connectorId, status: 'PENDING', attempts: file.link!.attempts };
    if (!(await this.files.replaceFailedLink(file.fileId, QUEUE_UNAVAILABLE, link))) {
      return this.load(file.fileId); // another request re-queued it (or the file was deleted)
    }
    return this.queueLink({ ...file, link });
  }

  private downloadUrl(record: FileRecord): Promise<string> {
    return this.transfer.downloadUrl(record.key, {
      contentDisposition: attachmentDisposition(record.fileName),
      contentType: record.contentType,
    });
  }

  async get(fileId: string) {
    const record = await this.load(fileId);
    return fileView(record, record.status === 'AVAILABLE' ? await this.downloadUrl(record) : undefined);
  }

  /** order 'newest' reads the listing (sorted by createdAt) backwards, for pages that show recent files first. */
  async listByRecord(recordId: string, limit = 50, nextToken?: string, order: 'oldest' | 'newest' = 'oldest') {
    let after: FilePageKey | undefined;
    if (nextToken) {
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(nextToken, 'base64url').toString('utf8'));
      } catch {
        throw new InvalidRequestError('nextToken is not valid; pass the value from the previous page unchanged');
      }
      // Exactly a page key (anything else would reach the store as a malformed key, a 500 for us).
      const key = pageKeySchema.safeParse(decoded);
      if (!key.success)
        throw new InvalidRequestError('nextToken is not valid; pass the value from the previous page unchanged');
      if (key.data.recordId !== recordId) throw new InvalidRequestError('nextToken belongs to another recordId');
      after = key.data;
    }
    const page = await this.files.listByRecord(recordId, {
      limit,
      ...(after && { after }),
      newestFirst: order === 'newest',
    });
    const files = await Promise.all(
      page.files.map(async (f) => fileView(f, f.status === 'AVAILABLE' ? await this.downloadUrl(f) : undefined)),
    );
    return { files, ...(page.next && { nextToken: Buffer.from(JSON.stringify(page.next)).toString('base64url') }) };
  }

  async delete(fileId: string): Promise<void> {
    const record = await this.load(fileId);
    if (record.siblings?.length) return this.deleteShared(record, record.siblings);
    if (record.uploadId) await this.transfer.abortMultipart(record.key, record.uploadId);
    await this.transfer.deleteObject(record.key);
    await this.files.delete(fileId);
  }

  /**
   * A record whose object other records share (a Salesforce document migrated for
   * several records, files/migration.ts): the record goes first, then the object once
   * no sibling is left. Of two siblings deleted at once, the later record delete is
   * followed by a read that finds the other gone, so the object is removed; the failure
   * mode is an object left over, never one lost.
   */
  private async deleteShared(record: FileRecord, siblings: string[]): Promise<void> {
    await this.files.delete(record.fileId);
    const left = await Promise.all(siblings.map((id) => this.files.get(id)));
    if (left.every((r) => !r)) await this.transfer.deleteObject(record.key);
  }
}
