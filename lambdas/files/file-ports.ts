import type { FileLink, FileLinkStore, FileRecord, FileStatus } from './file-link';

/**
 * What the file service needs of storage, in its own terms: records (DynamoDB,
 * adapters/file-repository.ts) and objects with presigned transfers (S3,
 * adapters/s3-file-transfer.ts). Conditions the service relies on are part of
 * each method's contract, so an in-memory fake can keep them too.
 */

/** Where a listing page ends: the file's id and its place in the recordId listing. */
export interface FilePageKey {
  fileId: string;
  recordId: string;
  createdAt: string;
}

export interface FileRepository extends FileLinkStore {
  /** Stores a new record (its fileId is fresh: an existing one is never overwritten). */
  create(record: FileRecord): Promise<void>;
  /** The record as last written (strongly consistent), or undefined. */
  get(fileId: string): Promise<FileRecord | undefined>;
  /**
   * PENDING to `status` (setting `link` when given, dropping the upload id), only while the
   * file exists and is PENDING and, with `unlessScanned`, has no scan result recorded.
   * The record as written, or undefined when that condition did not hold (nothing written).
   */
  completePending(
    fileId: string,
    change: { status: FileStatus; updatedAt: string; link?: FileLink; unlessScanned: boolean },
  ): Promise<FileRecord | undefined>;
  /**
   * Records the malware scan's result (and `status` and `link` when given), only while the
   * file exists and is `from`; false when that condition did not hold (nothing written).
   */
  recordScan(
    fileId: string,
    change: { from: FileStatus; scanResult: string; updatedAt: string; status?: FileStatus; link?: FileLink },
  ): Promise<boolean>;
  /** Replaces a FAILED link whose error code is `code`; false when the link is no longer so, or the file is gone. */
  replaceFailedLink(fileId: string, code: string, link: FileLink): Promise<boolean>;
  /** The files of a record by createdAt, a page at a time; `next` when there may be more. */
  listByRecord(
    recordId: string,
    page: { limit: number; after?: FilePageKey; newestFirst: boolean },
  ): Promise<{ files: FileRecord[]; next?: FilePageKey }>;
  /** Removes the record; one already gone is the same outcome. */
  delete(fileId: string): Promise<void>;
}

/** How S3 answered a request to assemble a multipart upload. */
export type MultipartOutcome =
  | { outcome: 'assembled' }
  /** No such upload: assembled by an earlier request whose answer was lost, or aborted. */
  | { outcome: 'gone' }
  /** The parts do not make the object (a part missing, an ETag wrong, a part too small): `reason` is S3's error name. */
  | { outcome: 'refused'; reason: string };

export interface FileTransfer {
  /** A presigned PUT of the whole object. */
  uploadUrl(key: string, contentType: string): Promise<string>;
  /** Starts a multipart upload; its upload id. */
  startMultipart(key: string, contentType: string): Promise<string>;
  /** A presigned PUT of one part. */
  partUrl(key: string, uploadId: string, partNumber: number): Promise<string>;
  completeMultipart(
    key: string,
    uploadId: string,
    parts: Array<{ partNumber: number; etag: string }>,
  ): Promise<MultipartOutcome>;
  /** Drops an unfinished multipart upload and its parts; one already gone is fine. */
  abortMultipart(key: string, uploadId: string): Promise<void>;
  /** The stored object's size, or undefined when there is none. */
  storedSize(key: string): Promise<number | undefined>;
  /** A presigned GET whose answer carries these Content-Disposition and Content-Type headers. */
  downloadUrl(key: string, headers: { contentDisposition: string; contentType: string }): Promise<string>;
  deleteObject(key: string): Promise<void>;
}
