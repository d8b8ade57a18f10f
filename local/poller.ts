import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * Plays the Lambda SQS event source: long-polls the queue and invokes the
 * worker handler with SQS events, never more than `maxConcurrency` at once
 * (the event source's maximum concurrency). Messages the handler does not
 * report as failed are deleted; failed ones stay for SQS to redeliver.
 */
export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;
  maxConcurrency: number;
  batchSize: number;
  functionTimeoutMs: number;
  onError?: (err: unknown) => void;
}

export class SqsPoller {
  private running = false;
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  /** Invocations in flight now, and the most seen at once. */
  inFlight = 0;
  peakInFlight = 0;

  constructor(private readonly opts: PollerOptions) {}

  start(): void {
    this.running = true;
    // Every receive loop listens on the one abort signal.
    setMaxListeners(this.opts.maxConcurrency + 10, this.abort.signal);
    this.loops = Array.from({ length: this.opts.maxConcurrency }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await Promise.allSettled(this.loops);
  }

  private context(): Context {
    const deadline = Date.now() + this.opts.functionTimeoutMs;
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName: 'crm-bridge-worker-local',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:crm-bridge-worker-local',
      memoryLimitInMB: '1024',
      awsRequestId: randomUUID(),
      logGroupName: 'local',
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }

  private async loop(): Promise<void> {
    const { sqs, queueUrl } = this.opts;
    while (this.running) {
      let messages;
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: this.opts.batchSize, WaitTimeSeconds: 5, MessageSystemAttributeNames: ['All'] }),
          { abortSignal: this.abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (err) {
        if (!this.running) return;
        this.opts.onError?.(err);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (messages.length === 0) continue;
      const records: SQSRecord[] = messages.map((m) => ({
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle!,
        body: m.Body ?? '',
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
          SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
          SenderId: m.Attributes?.SenderId ?? 'local',
          ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: this.opts.queueArn,
        awsRegion: this.opts.region,
      }));
      this.inFlight += 1;
      this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
      let failed: Set<string>;
      try {
        const response = await this.opts.handler({ Records: records }, this.context());
        failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch (err) {
        // An invocation error leaves the whole batch for redelivery, as Lambda does.
        this.opts.onError?.(err);
        failed = new Set(records.map((r) => r.messageId));
      } finally {
        this.inFlight -= 1;
      }
      const done = records.filter((r) => !failed.has(r.messageId));
      if (done.length > 0) {
        try {
          await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }));
        } catch (err) {
          this.opts.onError?.(err);
        }
      }
    }
  }
}
