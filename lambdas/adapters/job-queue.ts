import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  MAX_DELAY_SECONDS,
  type FileLinkMessage,
  type FileMigrationMessage,
  type JobMessage,
  type JobQueuePort,
} from '../domain/job-queue';

/** SQS cannot hide a message for longer than 12 hours. */
const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

/** The job queue on SQS (messages: domain/job-queue.ts). */
export class JobQueue implements JobQueuePort {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(jobId: string, delayMs = 0): Promise<void> {
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000)));
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify({ jobId } satisfies JobMessage),
        ...(delaySeconds > 0 && { DelaySeconds: delaySeconds }),
      }),
    );
  }

  async enqueueFileLink(fileId: string): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify({ kind: 'fileLink', fileId } satisfies FileLinkMessage),
      }),
    );
  }

  async enqueueFileMigration(migrationId: string, seq: number, delaySeconds?: number): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify({ kind: 'fileMigration', migrationId, seq } satisfies FileMigrationMessage),
        // SQS delays a message by at most 900 s.
        ...(delaySeconds !== undefined && { DelaySeconds: Math.min(900, Math.max(0, Math.round(delaySeconds))) }),
      }),
    );
  }

  /** Hide a received message for `delayMs`, so SQS redelivers it when the next attempt is due. */
  async deferMessage(receiptHandle: string, delayMs: number): Promise<void> {
    const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000)));
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  }
}
