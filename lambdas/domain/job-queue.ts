import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';

/** The message is only a pointer: the payload stays in the job record (SQS bodies are size-capped and visible to anyone who can read the queue). */
export const jobMessageSchema = z.object({ jobId: z.string().min(1).max(128) }).strict();
export type JobMessage = z.infer<typeof jobMessageSchema>;

/** SQS cannot hide a message for longer than 12 hours. */
const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

export class JobQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(jobId: string): Promise<void> {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify({ jobId } satisfies JobMessage) }));
  }

  /** Hide a received message for `delayMs`, so SQS redelivers it when the next attempt is due. */
  async deferMessage(receiptHandle: string, delayMs: number): Promise<void> {
    const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000)));
    await this.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
  }
}
