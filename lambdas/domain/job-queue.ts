import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';

/**
 * Messages are only pointers: the payload stays in the job (or file) record
 * (SQS bodies are size-capped and visible to anyone who can read the queue).
 * A job message is `{"jobId"}` (`"kind": "job"` optional, so messages written
 * before kinds existed, and DLQ replays of them, still run).
 */
export const jobMessageSchema = z.object({ kind: z.literal('job').optional(), jobId: z.string().min(1).max(128) }).strict();
export type JobMessage = z.infer<typeof jobMessageSchema>;

/** Create the link record of a file that has become AVAILABLE (lambdas/delivery/file-link-delivery.ts). */
export const fileLinkMessageSchema = z.object({ kind: z.literal('fileLink'), fileId: z.string().min(1).max(128) }).strict();
export type FileLinkMessage = z.infer<typeof fileLinkMessageSchema>;

/** GuardDuty Malware Protection's scan result, delivered unchanged by an EventBridge rule (lambdas/files/scan-result.ts). */
export const SCAN_RESULT_DETAIL_TYPE = 'GuardDuty Malware Protection Object Scan Result' as const;

/** The EventBridge event as the rule delivers it to SQS (only the fields used here are checked). */
export const scanResultEventSchema = z
  .object({
    source: z.literal('aws.guardduty'),
    'detail-type': z.literal(SCAN_RESULT_DETAIL_TYPE),
    detail: z
      .object({
        s3ObjectDetails: z.object({ bucketName: z.string().min(1), objectKey: z.string().min(1).max(1024) }).passthrough(),
        scanResultDetails: z.object({ scanResultStatus: z.string().min(1).max(64) }).passthrough(),
      })
      .passthrough(),
  })
  .passthrough();
export type ScanResultEvent = z.infer<typeof scanResultEventSchema>;

/** Every message kind the worker handles, by kind. */
export interface QueueMessages {
  job: JobMessage;
  fileLink: FileLinkMessage;
  /** GuardDuty's scan result event, delivered unchanged by an EventBridge rule (malware scanning). */
  scanResult: ScanResultEvent;
}
export type MessageKind = keyof QueueMessages;

export const queueMessageSchema = z.union([jobMessageSchema, fileLinkMessageSchema, scanResultEventSchema]);
export type QueueMessage = z.infer<typeof queueMessageSchema>;

export function messageKind(message: QueueMessage): MessageKind {
  if ('detail-type' in message) return 'scanResult';
  return message.kind ?? 'job';
}

/** SQS cannot hide a message for longer than 12 hours. */
const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;
/** SQS delays a new message by at most 15 minutes. */
export const MAX_DELAY_SECONDS = 15 * 60;

export class JobQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** `delayMs`: the message becomes visible that much later (whole seconds, at most 15 minutes). */
  async enqueue(jobId: string, delayMs = 0): Promise<void> {
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000)));
    await this.sqs.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify({ jobId } satisfies JobMessage), ...(delaySeconds > 0 && { DelaySeconds: delaySeconds }) }),
    );
  }

  async enqueueFileLink(fileId: string): Promise<void> {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify({ kind: 'fileLink', fileId } satisfies FileLinkMessage) }));
  }

  /** Hide a received message for `delayMs`, so SQS redelivers it when the next attempt is due. */
  async deferMessage(receiptHandle: string, delayMs: number): Promise<void> {
    const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000)));
    await this.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
  }
}
