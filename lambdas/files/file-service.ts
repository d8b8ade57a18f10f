import { randomUUID } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ConnectorSource } from '../domain/connector-store';
import { AppError, ConflictError, InvalidRequestError, NotFoundError, PayloadTooLargeError } from '../shared/errors';
import { RECORD_ID } from '../shared/ids';
import * as z from 'zod';
import { linkView, type FileLink, type FileLinkQueue, type FileStatus } from './file-link';
import { blockedLink, statusForScanResult } from './scan-result';

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
export const S3_MAX_OBJECT_SIZE = 5 * 1024 ** 4;

export interface FileRecord {
  fileId: string;
  fileName: string;
  contentType: string;
  size: number;
  status: FileStatus;
  /** The malware scan's result (GuardDutyMalwareScanStatus), with malware scanning on. */
  scanResult?: string;
  recordId?: string;
  /** Who uploaded it, as the caller names them (the Salesforce files component sends the user's name). */
  uploadedBy?: string;
  createdAt: string;
  updatedAt: string;
  /** The optional link record in Salesforce, created once the file is AVAILABLE. */
  link?: FileLink;
  /** Internal: the object key and, for multipart, the S3 upload id and part size. */
  key: string;
  uploadId?: string;
  partSize?: number;
  /** Other file records sharing `key` (a Salesforce document migrated for several records, files/migration.ts). */
  siblings?: string[];
}

export type UploadInstructions =
  | { method: 'PUT'; url: string; headers: Record<string, string> }
  | { partSize: number; partCount: number; parts: Array<{ partNumber: number; url: string }> };

export interface FileServiceConfig {
  tableName: string;
  bucket: string;
  /** @default 900 */
  urlExpirySeconds?: number;
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

/** Answered 400 when a link names a connector that cannot create link records. */
export class FileLinkNotConfiguredError extends AppError {
  constructor(message: string) {
    super('FILE_LINK_NOT_CONFIGURED', message, 400);
  }
}

/** Answered 409 for a file the malware scan found a threat in. */
export class FileQuarantinedError extends AppError {
  constructor(fileId: string) {
    super('FILE_QUARANTINED', `File "${fileId}" is quarantined: the malware scan found a threat in it, so it cannot be downloaded; delete it`, 409);
  }
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
const pageKeySchema = z.object({ fileId: z.string().min(1).max(1024), recordId: z.string().min(1).max(1024), createdAt: z.string().min(1).max(64) }).strict();

/**
 * Files live in S3 and are uploaded and downloaded straight to and from it with
 * presigned URLs: the bytes never pass through Lambda, API Gateway or the CRM.
 * Metadata lives in DynamoDB, looked up by recordId through the byRecordId index.
 */
export class FileService {
  private readonly expiry: number;
  private readonly maxFileSize: number;
  private readonly threshold: number;
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly s3: S3Client,
    private readonly config: FileServiceConfig,
  ) {
    this.expiry = config.urlExpirySeconds ?? 900;
    this.maxFileSize = Math.min(config.maxFileSize ?? S3_MAX_OBJECT_SIZE, S3_MAX_OBJECT_SIZE);
    this.threshold = config.multipartThreshold ?? 8 * MiB;
    this.now = config.now ?? Date.now;
    this.newId = config.newId ?? randomUUID;
  }

  async create(input: CreateFileInput) {
    if (input.size > this.maxFileSize) {
      throw new PayloadTooLargeError('FILE_TOO_LARGE', `The file is ${input.size} bytes; this hub accepts files up to ${this.maxFileSize} bytes`);
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
      ...(input.link && { link: { connectorId: input.link.connectorId, status: 'WAITING_FOR_UPLOAD', attempts: 0 } satisfies FileLink }),
      key: `files/${fileId}`,
    };
    let upload: UploadInstructions;
    if (input.size > this.threshold) {
      const partSize = partSizeFor(input.size);
      const { UploadId } = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.config.bucket, Key: record.key, ContentType: input.contentType }));
      record.uploadId = UploadId!;
      record.partSize = partSize;
      const count = partCountFor(input.size, partSize);
      const first = Math.min(count, input.partUrls ?? count);
      upload = { partSize, partCount: count, parts: await this.partUrls(record, Array.from({ length: first }, (_, i) => i + 1)) };
    } else {
      const url = await getSignedUrl(this.s3, new PutObjectCommand({ Bucket: this.config.bucket, Key: record.key, ContentType: input.contentType }), { expiresIn: this.expiry });
      upload = { method: 'PUT', url, headers: { 'content-type': input.contentType } };
    }
    await this.db.send(new PutCommand({ TableName: this.config.tableName, Item: record, ConditionExpression: 'attribute_not_exists(fileId)' }));
    return { fileId, status: 'PENDING' as const, upload, ...(record.link && { link: linkView(record.link) }) };
  }

  /**
   * A link needs the Salesforce record it points at and a usable target: an
   * enabled `salesforce` connector that declares `fileLink`. Refused here, at
   * create time, so a misconfiguration shows before anything is uploaded.
   */
  private async checkLink(connectorId: string, recordId: string | undefined): Promise<void> {
    if (recordId === undefined) {
      throw new InvalidRequestError('Invalid body: $.recordId: is required with "link" (the Salesforce record the link record points at)');
    }
    if (!RECORD_ID.test(recordId)) {
      throw new InvalidRequestError(`Invalid body: $.recordId: with "link" it must be a 15- or 18-character Salesforce record id; got ${JSON.stringify(recordId)}`);
    }
    if (!this.config.connectors) throw new Error('FileService: a file link needs the connectors source');
    const connector = await this.config.connectors.get(connectorId);
    if (!connector) {
      throw new NotFoundError('CONNECTOR_NOT_FOUND', `No connector "${connectorId}" is registered; add a salesforce connector with a "fileLink" section with "crm-bridge connectors put FILE"`);
    }
    if (connector.type !== 'salesforce') {
      throw new FileLinkNotConfiguredError(`Connector "${connectorId}" is a ${connector.type} connector; "link.connectorId" must name a salesforce connector that declares "fileLink"`);
    }
    if (!connector.fileLink) {
      throw new FileLinkNotConfiguredError(
        `Salesforce connector "${connectorId}" declares no "fileLink": add "fileLink": {} to its row (defaults: CrmBridge_File__c upserted by File_Id__c) and put it again with "crm-bridge connectors put FILE"`,
      );
    }
    if (!connector.enabled) {
      throw new ConflictError('CONNECTOR_DISABLED', `Connector "${connectorId}" is disabled; an admin can enable it with "crm-bridge connectors enable ${connectorId}"`);
    }
  }

  private async partUrls(record: FileRecord, partNumbers: number[]) {
    return Promise.all(
      partNumbers.map(async (partNumber) => ({
        partNumber,
        url: await getSignedUrl(this.s3, new UploadPartCommand({ Bucket: this.config.bucket, Key: record.key, UploadId: record.uploadId, PartNumber: partNumber }), { expiresIn: this.expiry }),
      })),
    );
  }

  private async load(fileId: string): Promise<FileRecord> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.config.tableName, Key: { fileId }, ConsistentRead: true }));
    if (!Item) throw new NotFoundError('FILE_NOT_FOUND', `No file "${fileId}" exists`);
    return Item as FileRecord;
  }

  /** Fresh upload URLs for parts of a pending multipart upload (to resume after the first URLs expired). */
  async refreshPartUrls(fileId: string, partNumbers: number[]) {
    const record = await this.load(fileId);
    if (record.status !== 'PENDING' || !record.uploadId) throw new ConflictError('FILE_NOT_AVAILABLE', `File "${fileId}" is not a pending multipart upload`);
    const count = partCountFor(record.size, record.partSize!);
    const bad = partNumbers.filter((n) => n < 1 || n > count);
    if (bad.length) throw new InvalidRequestError(`Part numbers must be between 1 and ${count}; got ${bad.join(', ')}`);
    return { partSize: record.partSize!, parts: await this.partUrls(record, partNumbers) };
  }

  async complete(fileId: string, parts?: Array<{ partNumber: number; etag: string }>) {
    const record = await this.load(fileId);
    if (record.status === 'AVAILABLE') {
      // Completing twice is harmless; it only re-queues a link the queue refused the first time.
      const done = record.link?.status === 'FAILED' && record.link.error?.code === QUEUE_UNAVAILABLE ? await this.requeueLink(record) : record;
      return fileView(done, await this.downloadUrl(done));
    }
    if (record.status === 'QUARANTINED') throw new FileQuarantinedError(fileId);
    if (record.status !== 'PENDING') return fileView(record); // SCANNING or SCAN_FAILED: completed already
    if (record.uploadId) {
      if (!parts?.length) throw new InvalidRequestError('This is a multipart upload: send {"parts": [{"partNumber", "etag"}]} with the ETag of every part');
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
      try {
        await this.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.config.bucket,
            Key: record.key,
            UploadId: record.uploadId,
            MultipartUpload: { Parts: [...parts].sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
          }),
        );
      } catch (err) {
        const name = (err as Error).name;
        if (name === 'InvalidPart' || name === 'InvalidPartOrder' || name === 'EntityTooSmall') {
          throw new ConflictError('SIZE_MISMATCH', `S3 refused to assemble the parts (${name}): upload every part and send each part's ETag`);
        }
        // NoSuchUpload: assembled by an earlier complete whose answer was lost, or
        // aborted; the size check below tells which.
        if (name !== 'NoSuchUpload') throw err;
      }
    } else if (parts?.length) {
      throw new InvalidRequestError('This file was uploaded with a single PUT: complete it with an empty body {}');
    }
    let stored: number | undefined;
    try {
      stored = (await this.s3.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: record.key }))).ContentLength;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404 && status !== 403) throw err;
    }
    if (stored !== record.size) {
      throw new ConflictError(
        'SIZE_MISMATCH',
        stored === undefined ? `Nothing was uploaded for file "${fileId}" yet` : `The uploaded object is ${stored} bytes but ${record.size} were declared; upload the file again`,
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
    const now = new Date(this.now()).toISOString();
    const scanned = record.scanResult;
    const status: FileStatus = !this.config.malwareScan ? 'AVAILABLE' : scanned === undefined ? 'SCANNING' : statusForScanResult(scanned);
    const link: FileLink | undefined =
      record.link && (status === 'AVAILABLE' ? { ...record.link, status: 'PENDING' } : status === 'SCANNING' ? record.link : blockedLink(record.link, status, scanned!));
    let done: FileRecord;
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.config.tableName,
          Key: { fileId },
          UpdateExpression: `SET #s = :status, updatedAt = :now${link ? ', #l = :link' : ''} REMOVE uploadId`,
          // Deleted meanwhile: do not resurrect a partial record. A scan result that
          // arrived since the record was read changes the outcome: read it again.
          ConditionExpression: `attribute_exists(fileId) AND #s = :pending${status === 'SCANNING' ? ' AND attribute_not_exists(scanResult)' : ''}`,
          ExpressionAttributeNames: { '#s': 'status', ...(link && { '#l': 'link' }) },
          ExpressionAttributeValues: { ':status': status, ':pending': 'PENDING', ':now': now, ...(link && { ':link': link }) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      done = Attributes as FileRecord;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const current = await this.load(fileId).catch((e: unknown) => {
        if (e instanceof NotFoundError) throw new NotFoundError('FILE_NOT_FOUND', `File "${fileId}" was deleted`);
        throw e;
      });
      if (current.status === 'PENDING' && !retried) return this.finish(current, fileId, true); // its scan result arrived
      return fileView(current, current.status === 'AVAILABLE' ? await this.downloadUrl(current) : undefined); // completed concurrently
    }
    if (done.status === 'QUARANTINED') this.config.logger?.error('file quarantined: the malware scan found a threat', { fileId, scanResult: scanned, metric: 'FilesQuarantined' });
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
        error: { code: QUEUE_UNAVAILABLE, message: 'The link could not be queued; complete the file again (POST /v1/files/{fileId}/complete) to retry', retryable: true },
      };
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.config.tableName,
            Key: { fileId: file.fileId },
            UpdateExpression: 'SET #l = :l',
            ConditionExpression: 'attribute_exists(fileId)',
            ExpressionAttributeNames: { '#l': 'link' },
            ExpressionAttributeValues: { ':l': link },
          }),
        );
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw e; // deleted meanwhile: nothing to record
      }
      return { ...file, link };
    }
  }

  /** A link the queue refused: back to PENDING and queued again; only one of concurrent completes does it. */
  private async requeueLink(file: FileRecord): Promise<FileRecord> {
    const link: FileLink = { connectorId: file.link!.connectorId, status: 'PENDING', attempts: file.link!.attempts };
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.config.tableName,
          Key: { fileId: file.fileId },
          UpdateExpression: 'SET #l = :l',
          ConditionExpression: 'attribute_exists(fileId) AND #l.#ls = :failed AND #l.#e.code = :code',
          ExpressionAttributeNames: { '#l': 'link', '#ls': 'status', '#e': 'error' },
          ExpressionAttributeValues: { ':l': link, ':failed': 'FAILED', ':code': QUEUE_UNAVAILABLE },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return this.load(file.fileId); // another request re-queued it (or the file was deleted)
    }
    return this.queueLink({ ...file, link });
  }

  private downloadUrl(record: FileRecord): Promise<string> {
    return getSignedUrl(
      this.s3,
      new GetObjectCommand({ Bucket: this.config.bucket, Key: record.key, ResponseContentDisposition: attachmentDisposition(record.fileName), ResponseContentType: record.contentType }),
      { expiresIn: this.expiry },
    );
  }

  async get(fileId: string) {
    const record = await this.load(fileId);
    return fileView(record, record.status === 'AVAILABLE' ? await this.downloadUrl(record) : undefined);
  }

  /** order 'newest' reads the byRecordId index (sorted by createdAt) backwards, for pages that show recent files first. */
  async listByRecord(recordId: string, limit = 50, nextToken?: string, order: 'oldest' | 'newest' = 'oldest') {
    let startKey: Record<string, unknown> | undefined;
    if (nextToken) {
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(nextToken, 'base64url').toString('utf8'));
      } catch {
        throw new InvalidRequestError('nextToken is not valid; pass the value from the previous page unchanged');
      }
      // Exactly a key of this listing (the index's and the table's), or DynamoDB refuses it with a 500 for us.
      const key = pageKeySchema.safeParse(decoded);
      if (!key.success) throw new InvalidRequestError('nextToken is not valid; pass the value from the previous page unchanged');
      if (key.data.recordId !== recordId) throw new InvalidRequestError('nextToken belongs to another recordId');
      startKey = key.data;
    }
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.config.tableName,
        IndexName: 'byRecordId',
        KeyConditionExpression: 'recordId = :r',
        ExpressionAttributeValues: { ':r': recordId },
        Limit: limit,
        ExclusiveStartKey: startKey,
        ...(order === 'newest' && { ScanIndexForward: false }),
      }),
    );
    const files = await Promise.all(((page.Items ?? []) as FileRecord[]).map(async (f) => fileView(f, f.status === 'AVAILABLE' ? await this.downloadUrl(f) : undefined)));
    return { files, ...(page.LastEvaluatedKey && { nextToken: Buffer.from(JSON.stringify(page.LastEvaluatedKey)).toString('base64url') }) };
  }

  async delete(fileId: string): Promise<void> {
    const record = await this.load(fileId);
    if (record.siblings?.length) return this.deleteShared(record, record.siblings);
    if (record.uploadId) {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.config.bucket, Key: record.key, UploadId: record.uploadId })).catch((err: Error) => {
        if (err.name !== 'NoSuchUpload') throw err;
      });
    }
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: record.key }));
    try {
      await this.db.send(new DeleteCommand({ TableName: this.config.tableName, Key: { fileId }, ConditionExpression: 'attribute_exists(fileId)' }));
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err; // deleted concurrently: same outcome
    }
  }

  /**
   * A record whose object other records share: the record goes first, then the
   * object once no sibling is left. Of two siblings deleted at once, the later
   * record delete is followed by a read that finds the other gone, so the object
   * is removed; the failure mode is an object left over, never one lost.
   */
  private async deleteShared(record: FileRecord, siblings: string[]): Promise<void> {
    try {
      await this.db.send(new DeleteCommand({ TableName: this.config.tableName, Key: { fileId: record.fileId }, ConditionExpression: 'attribute_exists(fileId)' }));
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const left = await Promise.all(siblings.map((id) => this.db.send(new GetCommand({ TableName: this.config.tableName, Key: { fileId: id }, ConsistentRead: true }))));
    if (left.every((r) => !r.Item)) await this.s3.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: record.key }));
  }
}
