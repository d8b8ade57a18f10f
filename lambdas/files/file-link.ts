import type { JobError } from '../domain/job';

/**
 * A file's optional link record in Salesforce (POST /v1/files with "link"):
 * created through a `salesforce` connector's `fileLink` once the file is
 * AVAILABLE. This module is shared by the controller (which records the link
 * and queues it) and the worker (which delivers it); it loads no Salesforce client.
 *
 * Status:
 * - WAITING_FOR_UPLOAD: the file is still PENDING (or SCANNING); nothing is sent before it is AVAILABLE.
 * - PENDING: the file is AVAILABLE and the link is queued, or a retry waits (`nextAttemptAt`).
 * - DELIVERED: the record exists in Salesforce (`salesforceId`, `deliveredAt`).
 * - FAILED: a permanent error, the last attempt failed, the link could not be queued, or the file
 *   will never be AVAILABLE (FILE_QUARANTINED, FILE_SCAN_FAILED) (`error`).
 */
/**
 * A file's state: PENDING until completed; then AVAILABLE, or with malware
 * scanning SCANNING until the scan result arrives, then AVAILABLE (no threats),
 * QUARANTINED (a threat) or SCAN_FAILED (not scanned: unsupported, access denied, failed).
 */
export type FileStatus = 'PENDING' | 'SCANNING' | 'AVAILABLE' | 'QUARANTINED' | 'SCAN_FAILED';

export type FileLinkStatus = 'WAITING_FOR_UPLOAD' | 'PENDING' | 'DELIVERED' | 'FAILED';

export interface FileLink {
  /** The `salesforce` connector whose `fileLink` says what to create. */
  connectorId: string;
  status: FileLinkStatus;
  /** Upsert calls made to Salesforce. */
  attempts: number;
  /** The last failure (kept while a retry waits, and when it finally failed). */
  error?: JobError;
  /** The link record's id, once DELIVERED (when Salesforce returned one). */
  salesforceId?: string;
  deliveredAt?: string;
  /** When the next attempt is due (ISO), while PENDING after a failure. */
  nextAttemptAt?: string;
}

/** A file's record (the files table): what the service, the worker and the scan results share. */
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

/** What the worker needs of a file record. */
export type LinkedFile = Pick<
  FileRecord,
  'fileId' | 'fileName' | 'contentType' | 'size' | 'status' | 'recordId' | 'createdAt' | 'updatedAt' | 'link'
>;

/** The public view of a link (GET /v1/files/{fileId} and lists). */
export function linkView(link: FileLink) {
  return {
    connectorId: link.connectorId,
    status: link.status,
    attempts: link.attempts,
    ...(link.error !== undefined && { error: link.error }),
    ...(link.salesforceId !== undefined && { salesforceId: link.salesforceId }),
    ...(link.deliveredAt !== undefined && { deliveredAt: link.deliveredAt }),
    ...(link.nextAttemptAt !== undefined && link.status === 'PENDING' && { nextAttemptAt: link.nextAttemptAt }),
  };
}

/** The API path of a file (relative to the API base URL): its record, with a fresh downloadUrl. */
export function downloadPath(fileId: string): string {
  return `/v1/files/${encodeURIComponent(fileId)}`;
}

/** What `fileLink.fields` mappings see: `{file: {...}}`. */
export function fileLinkContext(file: LinkedFile) {
  return {
    file: {
      fileId: file.fileId,
      fileName: file.fileName,
      contentType: file.contentType,
      size: file.size,
      recordId: file.recordId ?? null,
      createdAt: file.createdAt,
      updatedAt: file.updatedAt,
      downloadPath: downloadPath(file.fileId),
    },
  };
}

/** The queue message that asks the worker to create a file's link record (the file record holds the rest). */
export interface FileLinkQueue {
  enqueueFileLink(fileId: string): Promise<void>;
}

/** The worker's access to file records: read one, record its link's progress (DynamoDB: adapters/file-repository.ts). */
export interface FileLinkStore {
  get(fileId: string): Promise<LinkedFile | undefined>;
  /** Records the link's state; false when the file was deleted meanwhile (nothing is written then). */
  setLink(fileId: string, link: FileLink): Promise<boolean>;
}
