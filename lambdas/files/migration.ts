import { createHash, randomUUID } from 'node:crypto';
import type { ConnectorSource } from '../domain/connector-source';
import { toJobError, type JobError } from '../domain/job';
import type { QueueRecord } from '../domain/queue-record';
import { AppError, ConflictError, NotFoundError, RetryLaterError } from '../shared/errors';
import { contentTypeOf } from '../shared/content-types';
import type { FileLink, FileLinkQueue, FileStatus, LinkedFile } from './file-link';

/** Connector types reach files/ through the domain's port only (files/ imports nothing of connectors/). */
type Connector = NonNullable<Awaited<ReturnType<ConnectorSource['get']>>>;

/**
 * Moving a Salesforce org's existing Files into this hub (docs/files.md,
 * "Move existing Salesforce Files to S3"). A migration is accepted by the API
 * (MigrationService), then run by the worker in batches (MigrationRunner): each
 * queue message handles a bounded number of files, records where it got to,
 * and queues its continuation, so a migration of any size runs within the
 * worker's timeout and concurrency cap, with no laptop attached.
 *
 * Per file (the latest ContentVersion): its bytes are streamed from Salesforce
 * into one S3 object, their size and MD5 checked against ContentVersion's
 * ContentSize and Checksum before the upload is completed; then one file record
 * per linked record (ContentDocumentLink), each with a link record created by
 * the worker's file-link delivery exactly as for an upload; then, with
 * deleteAfterCopy, the ContentDocument is deleted once every link record exists.
 * Every file gets an audit row; a copy marker per ContentVersion makes a run
 * resumable and a second run skip what the first moved.
 */

export type MigrationStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';
/** COPY: files are copied; DELETE: copied files wait for their link records, then their documents are deleted. */
export type MigrationPhase = 'COPY' | 'DELETE';

export interface MigrationCounts {
  /** Latest versions the condition matched and this run looked at. */
  considered: number;
  moved: number;
  /** Dry run: files that would move. */
  wouldMove: number;
  skipped: number;
  failed: number;
  deleted: number;
  /** Bytes moved (dry run: that would move). */
  bytes: number;
  /** Bytes of deleted documents' latest versions (dry run: what --delete-after-copy would free). */
  bytesFreed: number;
  /** File records created (one per linked record). */
  fileRecords: number;
}

export const ZERO_COUNTS: MigrationCounts = {
  considered: 0,
  moved: 0,
  wouldMove: 0,
  skipped: 0,
  failed: 0,
  deleted: 0,
  bytes: 0,
  bytesFreed: 0,
  fileRecords: 0,
};

export interface Migration {
  migrationId: string;
  connectorId: string;
  /** The checked condition, in canonical form (connectors/salesforce/content-query.ts). */
  where: string;
  dryRun: boolean;
  deleteAfterCopy: boolean;
  status: MigrationStatus;
  phase: MigrationPhase;
  /** Number of the batch message that may run next; older ones are stale duplicates. */
  seq: number;
  /** The last ContentVersion Id handled (keyset paging). */
  cursor?: string;
  counts: MigrationCounts;
  createdAt: string;
  updatedAt: string;
  endedAt?: string;
  error?: JobError;
  /** When the DELETE phase started waiting for link records. */
  deleteWaitSince?: string;
  /** Internal: the batch in progress and until when its worker may run. */
  leaseToken?: string;
  leaseUntil?: string;
}

export type AuditStatus = 'WOULD_MOVE' | 'MOVED' | 'DELETED' | 'SKIPPED' | 'FAILED';

/** One row per ContentVersion a migration looked at. */
export interface AuditRow {
  contentVersionId: string;
  contentDocumentId: string;
  title: string;
  size: number;
  /** ContentVersion.Checksum (MD5, hex), when Salesforce gave one. */
  checksum?: string;
  /** The MD5 computed while streaming, when the bytes were read. */
  md5?: string;
  fileIds: string[];
  recordIds: string[];
  status: AuditStatus;
  /** Why it failed, was skipped, or was moved but not deleted. */
  reason?: { code: string; message: string };
  /** MOVED with deleteAfterCopy: the document is deleted once its link records exist. */
  deletePending?: boolean;
  at: string;
}

/** Marks a ContentVersion as copied (per connector): what a later run skips. */
export interface CopyMarker {
  connectorId: string;
  contentVersionId: string;
  contentDocumentId: string;
  fileIds: string[];
  key: string;
  size: number;
  md5: string;
  migrationId: string;
  movedAt: string;
  deletedAt?: string;
}

/** A latest ContentVersion as the migration needs it. */
export interface ContentVersionInfo {
  id: string;
  documentId: string;
  title: string;
  pathOnClient?: string;
  fileExtension?: string;
  size: number;
  checksum?: string;
  createdDate?: string;
}

/** Salesforce Files of one connector (connectors/salesforce/content.ts). */
export interface ContentSource {
  listVersions(where: string, afterId: string | undefined, limit: number): Promise<ContentVersionInfo[]>;
  /** Document id -> the record ids it is linked to (users, libraries and groups left out). */
  recordLinks(documentIds: string[]): Promise<Map<string, string[]>>;
  /** The bytes of a version, streamed. */
  openVersionData(versionId: string): Promise<AsyncIterable<Uint8Array>>;
  latestVersionId(documentId: string): Promise<string | undefined>;
  /** Deletes the document; resolves also when it is gone already. */
  deleteDocument(documentId: string): Promise<void>;
}

/** Streams an object into the files bucket; `check` runs before the upload is completed and refuses it by throwing. */
export interface ObjectUploader {
  upload(input: {
    key: string;
    contentType: string;
    size: number;
    body: AsyncIterable<Uint8Array>;
    check: (actual: { bytes: number; md5: string }) => void;
    signal?: AbortSignal;
  }): Promise<void>;
}

/** A file record written by a migration (the files table's FileRecord, complete from the start). */
export interface MigratedFileRecord {
  fileId: string;
  fileName: string;
  contentType: string;
  size: number;
  status: FileStatus;
  recordId: string;
  createdAt: string;
  updatedAt: string;
  key: string;
  link: FileLink;
  /** Where it came from. */
  source: {
    type: 'salesforce';
    connectorId: string;
    contentVersionId: string;
    contentDocumentId: string;
    migrationId: string;
  };
  /** Other file records sharing this S3 object (the document was linked to several records). */
  siblings?: string[];
}

export interface MigratedFiles {
  /** Writes records that do not exist yet (a rerun finds them and leaves them). */
  put(records: MigratedFileRecord[]): Promise<void>;
  get(fileId: string): Promise<LinkedFile | undefined>;
}

export interface MigrationStore {
  create(m: Migration): Promise<void>;
  get(migrationId: string): Promise<Migration | undefined>;
  /** Takes the batch `seq` for this worker until `until`, unless another worker's lease is live. */
  lease(migrationId: string, seq: number, token: string, until: string, now: string): Promise<boolean>;
  release(migrationId: string, token: string): Promise<void>;
  /** Moves on to batch `seq` (false if the lease was lost). */
  advance(
    migrationId: string,
    token: string,
    next: { seq: number; cursor?: string; phase: MigrationPhase; deleteWaitSince?: string },
  ): Promise<boolean>;
  finish(
    migrationId: string,
    token: string | undefined,
    status: 'SUCCEEDED' | 'FAILED',
    error?: JobError,
  ): Promise<void>;
  addCounts(migrationId: string, delta: Partial<MigrationCounts>): Promise<void>;
  putAudit(migrationId: string, row: AuditRow): Promise<void>;
  listAudit(migrationId: string, limit: number, startKey?: string): Promise<{ rows: AuditRow[]; nextKey?: string }>;
  pendingDeletes(migrationId: string, limit: number): Promise<AuditRow[]>;
  getCopy(connectorId: string, contentVersionId: string): Promise<CopyMarker | undefined>;
  putCopy(marker: CopyMarker): Promise<void>;
  markDeleted(connectorId: string, contentVersionId: string, at: string): Promise<void>;
}

export interface MigrationQueue extends FileLinkQueue {
  enqueueFileMigration(migrationId: string, seq: number, delaySeconds?: number): Promise<void>;
  deferMessage(receiptHandle: string, delayMs: number): Promise<void>;
}

interface Logger {
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
}

/** A file the migration refuses: recorded on its audit row, never retried in this run. */
export class MigrationFileError extends AppError {
  constructor(code: 'SIZE_MISMATCH' | 'CHECKSUM_MISMATCH' | 'FILE_TOO_LARGE' | 'TIME_BUDGET', message: string) {
    super(code, message, 409);
  }
}

/** One file record id per (connector, version, record): a rerun after a crash writes the same records, never a second set. */
export function migratedFileId(connectorId: string, contentVersionId: string, recordId: string): string {
  const h = createHash('sha256').update(`${connectorId}\n${contentVersionId}\n${recordId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The file name a user knows: the Title with its extension, as a name without path separators or control characters. */
export function migratedFileName(v: ContentVersionInfo): string {
  const ext = v.fileExtension?.toLowerCase();
  const base = v.title.trim() || (v.pathOnClient ?? '').split(/[\\/]/).pop() || v.id;
  const named = ext && !base.toLowerCase().endsWith(`.${ext}`) ? `${base}.${ext}` : base;
  return named.replace(/[\x00-\x1f\x7f/\\]/g, '_').slice(0, 255);
}

export function migratedContentType(v: ContentVersionInfo): string {
  return contentTypeOf(v.fileExtension);
}

/** The public view of a migration (GET /v1/files/migrations/{id}). */
export function migrationView(m: Migration) {
  return {
    migrationId: m.migrationId,
    connectorId: m.connectorId,
    where: m.where,
    dryRun: m.dryRun,
    deleteAfterCopy: m.deleteAfterCopy,
    status: m.status,
    phase: m.phase,
    counts: m.counts,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    ...(m.endedAt !== undefined && { endedAt: m.endedAt }),
    ...(m.error !== undefined && { error: m.error }),
    statusUrl: migrationPath(m.migrationId),
  };
}

export const migrationPath = (migrationId: string) => `/v1/files/migrations/${encodeURIComponent(migrationId)}`;

/** The connector a migration reads from: an enabled salesforce connector that declares fileLink (the link records). */
function checkConnector(
  connectorId: string,
  connector: Connector | undefined,
): asserts connector is Extract<Connector, { type: 'salesforce' }> {
  if (!connector)
    throw new NotFoundError(
      'CONNECTOR_NOT_FOUND',
      `No connector "${connectorId}" is registered; a migration reads through a salesforce connector`,
    );
  if (connector.type !== 'salesforce')
    throw new AppError(
      'FILE_LINK_NOT_CONFIGURED',
      `Connector "${connectorId}" is a ${connector.type} connector; a migration needs a salesforce connector`,
      400,
    );
  if (!connector.fileLink) {
    throw new AppError(
      'FILE_LINK_NOT_CONFIGURED',
      `Salesforce connector "${connectorId}" declares no "fileLink": a migrated file gets a link record as an upload does; add "fileLink": {} to its row`,
      400,
    );
  }
  if (!connector.enabled)
    throw new ConflictError(
      'CONNECTOR_DISABLED',
      `Connector "${connectorId}" is disabled; an admin can enable it with "crm-bridge connectors enable ${connectorId}"`,
    );
}

export interface SubmitMigration {
  connectorId: string;
  /** Canonical (checked) condition. */
  where: string;
  dryRun: boolean;
  deleteAfterCopy: boolean;
}

/** The controller's side: accepts a migration (202) and answers its status and audit rows. */
export class MigrationService {
  constructor(
    private readonly deps: {
      connectors: ConnectorSource;
      store: MigrationStore;
      queue: Pick<MigrationQueue, 'enqueueFileMigration'>;
      now?: () => number;
      newId?: () => string;
    },
  ) {}

  async submit(input: SubmitMigration) {
    checkConnector(input.connectorId, await this.deps.connectors.get(input.connectorId));
    const now = new Date((this.deps.now ?? Date.now)()).toISOString();
    const m: Migration = {
      migrationId: (this.deps.newId ?? randomUUID)(),
      ...input,
      status: 'QUEUED',
      phase: 'COPY',
      seq: 0,
      counts: { ...ZERO_COUNTS },
      createdAt: now,
      updatedAt: now,
    };
    await this.deps.store.create(m);
    try {
      await this.deps.queue.enqueueFileMigration(m.migrationId, 0);
    } catch (err) {
      // Nothing is left QUEUED without a message: the migration is closed, and submitting again starts it (moved files are skipped).
      await this.deps.store
        .finish(m.migrationId, undefined, 'FAILED', {
          code: 'QUEUE_UNAVAILABLE',
          message: 'The migration could not be queued; submit it again',
          retryable: true,
        })
        .catch(() => undefined);
      throw new AppError('QUEUE_UNAVAILABLE', 'The job queue is unavailable; submit the migration again shortly', 503, {
        cause: err,
      });
    }
    return { migrationId: m.migrationId, status: m.status, statusUrl: migrationPath(m.migrationId) };
  }

  async get(migrationId: string) {
    const m = await this.deps.store.get(migrationId);
    if (!m) throw new NotFoundError('JOB_NOT_FOUND', `No migration "${migrationId}" exists`);
    return migrationView(m);
  }

  async audit(migrationId: string, limit: number, nextToken?: string) {
    if (!(await this.deps.store.get(migrationId)))
      throw new NotFoundError('JOB_NOT_FOUND', `No migration "${migrationId}" exists`);
    const page = await this.deps.store.listAudit(migrationId, limit, nextToken);
    return { files: page.rows, ...(page.nextKey !== undefined && { nextToken: page.nextKey }) };
  }
}

export interface MigrationRunnerOptions {
  connectors: ConnectorSource;
  /** A ContentSource for a connector (checked: salesforce, enabled, with fileLink). */
  sources: (connector: Extract<Connector, { type: 'salesforce' }>) => ContentSource;
  store: MigrationStore;
  uploader: ObjectUploader;
  files: MigratedFiles;
  queue: MigrationQueue;
  logger: Logger;
  /** Malware scanning is on: migrated files are SCANNING until their scan result, as uploads are. */
  malwareScan?: boolean;
  /** Versions per batch message. @default 20 */
  batchSize?: number;
  /** A file is started only with at least this much of the invocation left; a transfer still running with a quarter of it left is given up. @default 120000 */
  minRemainingMs?: number;
  /** Largest file a migration moves (one file must stream within one invocation). @default 5 TiB */
  maxFileSize?: number;
  /** How long the DELETE phase waits for link records before it gives up on the documents still waiting. @default 1 hour */
  linkWaitMs?: number;
  /** Pause between two looks at link records that are not created yet. @default 10 s */
  linkPollSeconds?: number;
  now?: () => number;
}

type SalesforceConnector = Extract<Connector, { type: 'salesforce' }>;

/** The worker's side: one batch per queue message (kind fileMigration). */
export class MigrationRunner {
  private readonly batchSize: number;
  private readonly minRemainingMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: MigrationRunnerOptions) {
    this.batchSize = opts.batchSize ?? 20;
    this.minRemainingMs = opts.minRemainingMs ?? 120_000;
    this.now = opts.now ?? Date.now;
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  async process(
    message: { migrationId: string; seq: number },
    record: QueueRecord,
    remainingTimeMs: () => number = () => Number.POSITIVE_INFINITY,
  ): Promise<void> {
    const { store, logger } = this.opts;
    const { migrationId, seq } = message;
    const m = await store.get(migrationId);
    if (!m || m.status === 'SUCCEEDED' || m.status === 'FAILED' || seq < m.seq) {
      logger.info('migration message is stale or the migration has ended; dropping it', {
        migrationId,
        seq,
        status: m?.status,
      });
      return;
    }
    if (seq > m.seq)
      throw new Error(
        `Migration ${migrationId}: batch ${seq} arrived before batch ${m.seq} was recorded; SQS delivers it again`,
      );
    const token = randomUUID();
    const remaining = remainingTimeMs();
    const until = new Date(this.now() + (Number.isFinite(remaining) ? remaining : 15 * 60_000)).toISOString();
    if (!(await store.lease(migrationId, seq, token, until, this.iso()))) {
      // A duplicate of the batch another worker runs: look again once its lease is over (then it is stale).
      const leaseEnd = m.leaseUntil ? Date.parse(m.leaseUntil) : this.now();
      const delayMs = Math.max(1000, leaseEnd - this.now() + 1000);
      await this.opts.queue.deferMessage(record.receiptHandle, delayMs);
      throw new RetryLaterError(
        `Migration ${migrationId}: batch ${seq} is run by another worker; looking again in ${delayMs} ms`,
      );
    }
    let next:
      | { done: true }
      | { done: false; cursor?: string; phase: MigrationPhase; delaySeconds?: number; deleteWaitSince?: string };
    try {
      const connector = await this.opts.connectors.get(m.connectorId);
      checkConnector(m.connectorId, connector);
      const source = this.opts.sources(connector);
      next =
        m.phase === 'COPY'
          ? await this.copyBatch(m, connector, source, remainingTimeMs)
          : await this.deleteBatch(m, source);
    } catch (err) {
      // A refusal (connector gone, malformed condition, no access): the migration ends with it.
      const error = toJobError(err);
      if (error.code !== 'WORKER_ERROR' && !error.retryable) {
        logger.warn('migration failed', { migrationId, code: error.code });
        await store.finish(migrationId, token, 'FAILED', error);
        return;
      }
      // Transient (Salesforce unavailable, our own infrastructure): the same batch runs again on redelivery.
      await store.release(migrationId, token).catch(() => undefined);
      throw err;
    }
    if (next.done) {
      await store.finish(migrationId, token, 'SUCCEEDED');
      logger.info('migration finished', { migrationId });
      return;
    }
    // The continuation is queued before the move is recorded: if recording fails, this message runs the batch again (files are idempotent).
    await this.opts.queue.enqueueFileMigration(migrationId, seq + 1, next.delaySeconds);
    const moved = await store.advance(migrationId, token, {
      seq: seq + 1,
      cursor: next.cursor,
      phase: next.phase,
      deleteWaitSince: next.deleteWaitSince,
    });
    if (!moved)
      logger.warn('migration lease was lost while a batch ran; the next batch sorts it out', { migrationId, seq });
  }

  private async copyBatch(
    m: Migration,
    connector: SalesforceConnector,
    source: ContentSource,
    remainingTimeMs: () => number,
  ) {
    const versions = await source.listVersions(m.where, m.cursor, this.batchSize);
    if (versions.length === 0) {
      if (m.deleteAfterCopy && !m.dryRun)
        return { done: false as const, phase: 'DELETE' as const, cursor: m.cursor, deleteWaitSince: this.iso() };
      return { done: true as const };
    }
    const links = await source.recordLinks([...new Set(versions.map((v) => v.documentId))]);
    let cursor = m.cursor;
    for (const [i, v] of versions.entries()) {
      // Not started without time for it: the next batch (a new invocation) begins with this file.
      // The first file of a batch always starts, so a too small timeout fails files (TIME_BUDGET) instead of looping.
      if (i > 0 && remainingTimeMs() < this.minRemainingMs) break;
      await this.copyOne(m, connector, source, v, links.get(v.documentId) ?? [], remainingTimeMs);
      cursor = v.id;
    }
    return { done: false as const, phase: 'COPY' as const, cursor };
  }

  private async audit(
    m: Migration,
    v: ContentVersionInfo,
    row: Omit<AuditRow, 'contentVersionId' | 'contentDocumentId' | 'title' | 'size' | 'at'>,
    counts: Partial<MigrationCounts>,
  ) {
    await this.opts.store.putAudit(m.migrationId, {
      contentVersionId: v.id,
      contentDocumentId: v.documentId,
      title: v.title,
      size: v.size,
      ...(v.checksum !== undefined && { checksum: v.checksum }),
      ...row,
      at: this.iso(),
    });
    await this.opts.store.addCounts(m.migrationId, { considered: 1, ...counts });
  }

  private async copyOne(
    m: Migration,
    connector: SalesforceConnector,
    source: ContentSource,
    v: ContentVersionInfo,
    recordIds: string[],
    remainingTimeMs: () => number,
  ): Promise<void> {
    const { store, logger } = this.opts;
    const marker = await store.getCopy(m.connectorId, v.id);
    if (recordIds.length === 0) {
      return this.audit(
        m,
        v,
        {
          fileIds: [],
          recordIds,
          status: 'SKIPPED',
          reason: {
            code: 'NO_RECORD_LINK',
            message: 'The file is linked to no record (only to users, libraries or groups); it stays in Salesforce',
          },
        },
        { skipped: 1 },
      );
    }
    if (marker) {
      const deletePending = m.deleteAfterCopy && !m.dryRun && marker.deletedAt === undefined;
      const reason = {
        code: 'ALREADY_MOVED',
        message: `Moved by migration ${marker.migrationId} at ${marker.movedAt}${marker.deletedAt ? `; deleted at ${marker.deletedAt}` : ''}`,
      };
      if (deletePending)
        return this.audit(
          m,
          v,
          { fileIds: marker.fileIds, recordIds, status: 'MOVED', md5: marker.md5, reason, deletePending: true },
          {},
        );
      return this.audit(m, v, { fileIds: marker.fileIds, recordIds, status: 'SKIPPED', reason }, { skipped: 1 });
    }
    const fileIds = recordIds.map((r) => migratedFileId(m.connectorId, v.id, r));
    if (m.dryRun)
      return this.audit(
        m,
        v,
        { fileIds: [], recordIds, status: 'WOULD_MOVE' },
        { wouldMove: 1, bytes: v.size, bytesFreed: v.size },
      );
    const key = `files/${fileIds[0]}`;
    let md5 = '';
    const controller = new AbortController();
    // Given up with a quarter of the minimum left, so the batch can still record it.
    const watch = setInterval(() => {
      if (remainingTimeMs() < this.minRemainingMs / 4)
        controller.abort(
          new MigrationFileError(
            'TIME_BUDGET',
            'The file did not finish within the worker invocation; a larger worker timeout moves it (or it is tried again by the next run)',
          ),
        );
    }, 1000);
    try {
      if (v.size > (this.opts.maxFileSize ?? 5 * 1024 ** 4))
        throw new MigrationFileError(
          'FILE_TOO_LARGE',
          `The file is ${v.size} bytes; this hub moves files up to ${this.opts.maxFileSize} bytes`,
        );
      const body = await source.openVersionData(v.id);
      await this.opts.uploader.upload({
        key,
        contentType: migratedContentType(v),
        size: v.size,
        body,
        signal: controller.signal,
        check: (actual) => {
          md5 = actual.md5;
          if (actual.bytes !== v.size)
            throw new MigrationFileError(
              'SIZE_MISMATCH',
              `Salesforce sent ${actual.bytes} bytes; ContentVersion.ContentSize says ${v.size}`,
            );
          if (v.checksum !== undefined && v.checksum.toLowerCase() !== actual.md5) {
            throw new MigrationFileError(
              'CHECKSUM_MISMATCH',
              `The MD5 of the bytes read is ${actual.md5}; ContentVersion.Checksum says ${v.checksum}`,
            );
          }
        },
      });
    } catch (err) {
      const reason = controller.signal.aborted ? (controller.signal.reason as MigrationFileError) : err;
      const error = toJobError(reason);
      logger.warn('migration: file not moved', {
        migrationId: m.migrationId,
        contentVersionId: v.id,
        code: error.code,
      });
      const message =
        error.code === 'WORKER_ERROR'
          ? `The copy failed: ${(reason as Error)?.message ?? String(reason)}`
          : error.message;
      return this.audit(
        m,
        v,
        { fileIds: [], recordIds, status: 'FAILED', ...(md5 && { md5 }), reason: { code: error.code, message } },
        { failed: 1 },
      );
    } finally {
      clearInterval(watch);
    }
    const now = this.iso();
    const scanning = Boolean(this.opts.malwareScan);
    const records: MigratedFileRecord[] = fileIds.map((fileId, i) => ({
      fileId,
      fileName: migratedFileName(v),
      contentType: migratedContentType(v),
      size: v.size,
      status: scanning ? 'SCANNING' : 'AVAILABLE',
      recordId: recordIds[i]!,
      // The file's own date: a record's files list in the order they were added in Salesforce.
      createdAt: v.createdDate ? new Date(v.createdDate).toISOString() : now,
      updatedAt: now,
      key,
      link: { connectorId: connector.connectorId, status: scanning ? 'WAITING_FOR_UPLOAD' : 'PENDING', attempts: 0 },
      source: {
        type: 'salesforce',
        connectorId: m.connectorId,
        contentVersionId: v.id,
        contentDocumentId: v.documentId,
        migrationId: m.migrationId,
      },
      ...(fileIds.length > 1 && { siblings: fileIds.filter((f) => f !== fileId) }),
    }));
    await this.opts.files.put(records);
    // The link records are created by the file-link delivery, as for an upload that becomes AVAILABLE (with scanning: by the scan result).
    if (!scanning) for (const r of records) await this.opts.queue.enqueueFileLink(r.fileId);
    await store.putCopy({
      connectorId: m.connectorId,
      contentVersionId: v.id,
      contentDocumentId: v.documentId,
      fileIds,
      key,
      size: v.size,
      md5,
      migrationId: m.migrationId,
      movedAt: now,
    });
    await this.audit(
      m,
      v,
      { fileIds, recordIds, status: 'MOVED', md5, ...(m.deleteAfterCopy && { deletePending: true }) },
      { moved: 1, bytes: v.size, fileRecords: records.length },
    );
  }

  /** Deletes the documents whose link records all exist; waits (a delayed continuation) for the others, up to linkWaitMs. */
  private async deleteBatch(m: Migration, source: ContentSource) {
    const rows = await this.opts.store.pendingDeletes(m.migrationId, this.batchSize);
    if (rows.length === 0) return { done: true as const };
    const waitedMs = this.now() - Date.parse(m.deleteWaitSince ?? m.updatedAt);
    let waiting = 0;
    for (const row of rows) {
      const outcome = await this.deleteOne(m, source, row, waitedMs > (this.opts.linkWaitMs ?? 3_600_000));
      if (outcome === 'waiting') waiting += 1;
    }
    // Only documents still waiting for link records: look again after a pause.
    return {
      done: false as const,
      phase: 'DELETE' as const,
      cursor: m.cursor,
      deleteWaitSince: m.deleteWaitSince,
      ...(waiting === rows.length && { delaySeconds: this.opts.linkPollSeconds ?? 10 }),
    };
  }

  private async deleteOne(
    m: Migration,
    source: ContentSource,
    row: AuditRow,
    givingUp: boolean,
  ): Promise<'done' | 'waiting'> {
    const notDeleted = async (code: string, message: string) => {
      await this.opts.store.putAudit(m.migrationId, {
        ...row,
        status: 'MOVED',
        deletePending: false,
        reason: { code, message },
        at: this.iso(),
      });
      return 'done' as const;
    };
    const files = await Promise.all(row.fileIds.map((id) => this.opts.files.get(id)));
    const gone = row.fileIds.filter((_, i) => !files[i]);
    if (gone.length)
      return notDeleted(
        'FILE_DELETED',
        `File record(s) ${gone.join(', ')} were deleted from the hub; the Salesforce document is kept`,
      );
    const links = files.map((f) => f!.link);
    const failed = links.find((l) => l?.status === 'FAILED');
    if (failed)
      return notDeleted(
        'LINK_FAILED',
        `A link record could not be created (${failed.error?.code ?? 'unknown'}); the Salesforce document is kept`,
      );
    if (!links.every((l) => l?.status === 'DELIVERED')) {
      if (givingUp)
        return notDeleted(
          'LINK_TIMEOUT',
          'The link records were not all created in time; the Salesforce document is kept (run the migration again to delete it)',
        );
      return 'waiting';
    }
    // A version uploaded after the copy is not in S3: the document stays.
    const latest = await source.latestVersionId(row.contentDocumentId);
    if (latest !== undefined && latest !== row.contentVersionId)
      return notDeleted('NEW_VERSION', `The document has a newer version (${latest}) than the one moved; it is kept`);
    try {
      await source.deleteDocument(row.contentDocumentId);
    } catch (err) {
      const error = toJobError(err);
      if (error.code === 'WORKER_ERROR' || error.retryable) throw err; // the batch runs again
      return notDeleted('DELETE_FAILED', error.message);
    }
    const at = this.iso();
    await this.opts.store.markDeleted(m.connectorId, row.contentVersionId, at);
    await this.opts.store.putAudit(m.migrationId, { ...row, status: 'DELETED', deletePending: false, at });
    await this.opts.store.addCounts(m.migrationId, { deleted: 1, bytesFreed: row.size });
    return 'done';
  }
}
