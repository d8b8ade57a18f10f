import { type ScanResultEvent } from '../domain/job-queue';
import type { FileLink, FileLinkQueue, FileStatus } from './file-link';
import type { FileRepository } from './file-ports';

/**
 * Malware scanning (stack option malwareScan=guardduty; MALWARE_SCAN=local in
 * the local hub): GuardDuty Malware Protection for S3 scans each new object in
 * the files bucket, tags it `GuardDutyMalwareScanStatus` and publishes an
 * EventBridge event, which a rule delivers unchanged to the job queue. The
 * worker hands it here. The scan can finish before or after the upload is
 * completed through the API; either order ends in the same state.
 */
export { SCAN_RESULT_DETAIL_TYPE } from '../domain/job-queue';

/** GuardDuty's result values: `NO_THREATS_FOUND`, `THREATS_FOUND`, `UNSUPPORTED`, `ACCESS_DENIED`, `FAILED`. */
export function statusForScanResult(result: string): FileStatus {
  if (result === 'NO_THREATS_FOUND') return 'AVAILABLE';
  if (result === 'THREATS_FOUND') return 'QUARANTINED';
  // Not scanned (unsupported type, access denied, failure): not known to be clean, so never downloadable.
  return 'SCAN_FAILED';
}

/** The link of a file that will never be AVAILABLE: FAILED with the reason, and no record in Salesforce. */
export function blockedLink(link: FileLink, status: FileStatus, result: string): FileLink {
  const quarantined = status === 'QUARANTINED';
  return {
    ...link,
    status: 'FAILED',
    error: {
      code: quarantined ? 'FILE_QUARANTINED' : 'FILE_SCAN_FAILED',
      message: quarantined
        ? 'The malware scan found a threat in the file; it is quarantined and no link record is created'
        : `The file could not be scanned for malware (${result}); no link record is created`,
      retryable: false,
    },
  };
}

interface Logger {
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
}

export class ScanResultRunner {
  constructor(
    private readonly opts: {
      files: Pick<FileRepository, 'get' | 'recordScan'>;
      bucket: string;
      linkQueue: FileLinkQueue;
      logger: Logger;
    },
  ) {}

  async process(event: ScanResultEvent): Promise<void> {
    const { bucketName, objectKey } = event.detail.s3ObjectDetails;
    const result = event.detail.scanResultDetails.scanResultStatus;
    const fileId = /^files\/([^/]+)$/.exec(objectKey)?.[1];
    if (bucketName !== this.opts.bucket || fileId === undefined) {
      this.opts.logger.info('scan result for an object that is not a file of this hub; ignored', {
        bucketName,
        objectKey,
      });
      return;
    }
    const status = statusForScanResult(result);
    const siblings = await this.apply(fileId, result, status);
    // One object, one scan: the records sharing it (files/migration.ts) get the same result.
    for (const sibling of siblings ?? []) await this.apply(sibling, result, status);
  }

  /** Applies the result to one file record; returns the records that share its object. */
  private async apply(fileId: string, result: string, status: FileStatus): Promise<string[] | undefined> {
    // Two tries: a complete can move the file from PENDING to SCANNING between them.
    for (let i = 0; i < 2; i++) {
      const file = await this.opts.files.get(fileId);
      if (!file) {
        this.opts.logger.info('scan result for a deleted file; ignored', { fileId, result });
        return undefined;
      }
      if (file.status === 'PENDING') {
        // Scanned before the upload was completed: complete() applies the result.
        if (await this.record(fileId, { from: 'PENDING', scanResult: result })) return file.siblings;
        continue;
      }
      if (file.status !== 'SCANNING') {
        // A redelivered event: only the link may still need queueing.
        if (file.status === 'AVAILABLE' && file.link?.status === 'PENDING')
          await this.opts.linkQueue.enqueueFileLink(fileId);
        return file.siblings;
      }
      const link =
        file.link &&
        (status === 'AVAILABLE'
          ? { ...file.link, status: 'PENDING' as const }
          : blockedLink(file.link, status, result));
      const applied = await this.record(fileId, {
        from: 'SCANNING',
        scanResult: result,
        status,
        ...(link && { link }),
      });
      if (!applied) continue;
      this.log(fileId, status, result);
      if (status === 'AVAILABLE' && link) await this.opts.linkQueue.enqueueFileLink(fileId);
      return file.siblings;
    }
    throw new Error(
      `File ${fileId}: its state changed twice while the scan result was applied; SQS delivers the result again`,
    );
  }

  private log(fileId: string, status: FileStatus, result: string) {
    if (status === 'QUARANTINED')
      this.opts.logger.warn('file quarantined: the malware scan found a threat', {
        fileId,
        scanResult: result,
        metric: 'FilesQuarantined',
      });
    else if (status === 'SCAN_FAILED')
      this.opts.logger.warn('file could not be scanned for malware; it stays unavailable', {
        fileId,
        scanResult: result,
        metric: 'FilesScanFailed',
      });
    else this.opts.logger.info('file scanned: no threats found', { fileId });
  }

  private record(
    fileId: string,
    change: { from: FileStatus; scanResult: string; status?: FileStatus; link?: FileLink },
  ): Promise<boolean> {
    return this.opts.files.recordScan(fileId, { ...change, updatedAt: new Date().toISOString() });
  }
}
