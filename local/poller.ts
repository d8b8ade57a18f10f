import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * Plays the Lambda SQS event source: polls the queue and invokes the worker
 * handler with SQS events of up to `batchSize` records, never more than
 * `maxConcurrency` invocations at once (the event source's maximum
 * concurrency). Like Lambda's pollers it receives up to 10 messages per call
 * and deletes in batches; messages the handler reports as failed (or all of
 * them, when the invocation throws) stay for SQS to redeliver.
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

/** Counts free invocation slots; `take` waits for at least one and takes up to `max`. */
class Slots {
  private waiters: Array<() => void> = [];
  constructor(private free: number) {}
  async take(max: number, signal: AbortSignal): Promise<number> {
    while (this.free === 0) {
      if (signal.aborted) return 0;
      await new Promise<void>((resolve) => {
        // Removed again once woken: listeners left on the long-lived signal pile up and
        // make every add/remove on it (the SDK adds one per request) walk a growing list.
        const onAbort = () => resolve();
        this.waiters.push(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    const n = Math.min(max, this.free);
    this.free -= n;
    return n;
  }
  give(n: number): void {
    this.free += n;
    for (const w of this.waiters.splice(0)) w();
  }
}

const RECEIVERS = 3;

export class SqsPoller {
  private running = false;
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly slots: Slots;
  private readonly invocations = new Set<Promise<void>>();
  private pendingDeletes: Array<{ Id: string; ReceiptHandle: string }> = [];
  private deleteScheduled = false;
  private deleteSeq = 0;
  /** Invocations in flight now, and the most seen at once. */
  inFlight = 0;
  peakInFlight = 0;

  constructor(private readonly opts: PollerOptions) {
    this.slots = new Slots(opts.maxConcurrency);
  }

  start(): void {
    this.running = true;
    setMaxListeners(1000, this.abort.signal);
    this.loops = Array.from({ length: RECEIVERS }, () => this.receiveLoop());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await Promise.allSettled(this.loops);
    await Promise.allSettled([...this.invocations]);
    await this.flushDeletes();
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

  private toRecord(m: Message): SQSRecord {
    return {
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
    };
  }

  private async receiveLoop(): Promise<void> {
    const { sqs, queueUrl, batchSize } = this.opts;
    while (this.running) {
      // Reserve invocation slots first, so received messages never wait for one.
      const reserved = await this.slots.take(Math.max(1, Math.floor(10 / batchSize)), this.abort.signal);
      if (!this.running) return;
      let messages: Message[] = [];
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: Math.min(10, reserved * batchSize), WaitTimeSeconds: 5, MessageSystemAttributeNames: ['All'] }),
          { abortSignal: this.abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (err) {
        this.slots.give(reserved);
        if (!this.running) return;
        this.opts.onError?.(err);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      const batches: Message[][] = [];
      for (let i = 0; i < messages.length; i += batchSize) batches.push(messages.slice(i, i + batchSize));
      this.slots.give(reserved - batches.length);
      for (const batch of batches) {
        const run = this.invoke(batch.map((m) => this.toRecord(m))).finally(() => {
          this.invocations.delete(run);
          this.slots.give(1);
        });
        this.invocations.add(run);
      }
    }
  }

  private async invoke(records: SQSRecord[]): Promise<void> {
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
    for (const r of records) if (!failed.has(r.messageId)) this.pendingDeletes.push({ Id: String(this.deleteSeq++), ReceiptHandle: r.receiptHandle });
    this.scheduleDeletes();
  }

  /** Deletes finished messages in batches of up to 10, gathered over one turn of the event loop. */
  private scheduleDeletes(): void {
    if (this.deleteScheduled || this.pendingDeletes.length === 0) return;
    this.deleteScheduled = true;
    setImmediate(() => {
      this.deleteScheduled = false;
      void this.flushDeletes();
    });
  }

  private async flushDeletes(): Promise<void> {
    while (this.pendingDeletes.length > 0) {
      const entries = this.pendingDeletes.splice(0, 10);
      try {
        await this.opts.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.opts.queueUrl, Entries: entries }));
      } catch (err) {
        // Undeleted messages reappear after the visibility timeout; the worker drops finished jobs.
        this.opts.onError?.(err);
      }
    }
  }
}
