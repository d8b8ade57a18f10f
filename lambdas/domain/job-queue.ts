import * as z from 'zod';
import { SCAN_RESULT_EVENT } from '../contract/queue';
import { lazyObject } from '../shared/lazy';

/**
 * Messages are only pointers: the payload stays in the job (or file) record
 * (SQS bodies are size-capped and visible to anyone who can read the queue).
 * A job message is `{"jobId"}` (`"kind": "job"` optional, so messages written
 * before kinds existed, and DLQ replays of them, still run).
 */
export const jobMessageSchema = lazyObject(() =>
  z.object({ kind: z.literal('job').optional(), jobId: z.string().min(1).max(128) }).strict(),
);
export type JobMessage = z.infer<typeof jobMessageSchema>;

/** Create the link record of a file that has become AVAILABLE (lambdas/delivery/file-link-delivery.ts). */
export const fileLinkMessageSchema = lazyObject(() =>
  z.object({ kind: z.literal('fileLink'), fileId: z.string().min(1).max(128) }).strict(),
);
export type FileLinkMessage = z.infer<typeof fileLinkMessageSchema>;

/** Run the next batch of a Files migration (lambdas/files/migration.ts); `seq` tells a stale duplicate from the batch due. */
export const fileMigrationMessageSchema = z
  .object({ kind: z.literal('fileMigration'), migrationId: z.string().min(1).max(128), seq: z.number().int().min(0) })
  .strict();
export type FileMigrationMessage = z.infer<typeof fileMigrationMessageSchema>;

/** GuardDuty Malware Protection's scan result, delivered unchanged by an EventBridge rule (lambdas/files/scan-result.ts). */
export const SCAN_RESULT_DETAIL_TYPE = SCAN_RESULT_EVENT.detailType;

/** The EventBridge event as the rule delivers it to SQS (only the fields used here are checked). */
export const scanResultEventSchema = lazyObject(() =>
  z
    .object({
      source: z.literal(SCAN_RESULT_EVENT.source),
      'detail-type': z.literal(SCAN_RESULT_DETAIL_TYPE),
      detail: z
        .object({
          s3ObjectDetails: z
            .object({ bucketName: z.string().min(1), objectKey: z.string().min(1).max(1024) })
            .passthrough(),
          scanResultDetails: z.object({ scanResultStatus: z.string().min(1).max(64) }).passthrough(),
        })
        .passthrough(),
    })
    .passthrough(),
);
export type ScanResultEvent = z.infer<typeof scanResultEventSchema>;

/** Every message kind the worker handles, by kind. */
export interface QueueMessages {
  job: JobMessage;
  fileLink: FileLinkMessage;
  /** GuardDuty's scan result event, delivered unchanged by an EventBridge rule (malware scanning). */
  scanResult: ScanResultEvent;
  fileMigration: FileMigrationMessage;
}
export type MessageKind = keyof QueueMessages;

export const queueMessageSchema = lazyObject(() =>
  z.union([jobMessageSchema, fileLinkMessageSchema, fileMigrationMessageSchema, scanResultEventSchema]),
);
export type QueueMessage = z.infer<typeof queueMessageSchema>;

export function messageKind(message: QueueMessage): MessageKind {
  if ('detail-type' in message) return 'scanResult';
  return message.kind ?? 'job';
}

/** SQS delays a new message by at most 15 minutes. */
export const MAX_DELAY_SECONDS = 15 * 60;

/**
 * Port: the queue the worker reads (adapter: adapters/job-queue.ts, SQS).
 * Messages are the pointers above, never payloads.
 */
export interface JobQueuePort {
  /** `delayMs`: the message becomes visible that much later (whole seconds, at most MAX_DELAY_SECONDS). */
  enqueue(jobId: string, delayMs?: number): Promise<void>;
  enqueueFileLink(fileId: string): Promise<void>;
  /** The next batch of a migration; `delaySeconds` (SQS: at most 900) when it only waits for something to happen. */
  enqueueFileMigration(migrationId: string, seq: number, delaySeconds?: number): Promise<void>;
  /** Hide a received message for `delayMs`, so the queue redelivers it when the next attempt is due. */
  deferMessage(receiptHandle: string, delayMs: number): Promise<void>;
}
