import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * Plays the Lambda SQS event source: polls the queue and invokes the worker
 * handler with SQS events of up to `batchSize` records, never more than
 * `maxConcurrency` invocations at once (the event source's maximum
 * concurrency). Like Lambda's pollers it receives up to 10 messages per call,
 * keeps a batch in hand for the next free slot, and deletes in batches;
 * messages the handler reports as failed (or all of them, when the invocation
 * throws) stay for SQS to redeliver.
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

/**
 * Messages the poller holds beyond what free invocation slots take at once: two
 * receives' worth, so that at the cap a full receive (10) is asked for while
 * ten are still in hand, and a slot that frees up never waits for one. Never
 * more than the cap itself: a held message's visibility timeout is running.
 */
const PREFETCH = 20;
/** A receive asks for at least this many messages (unless nothing is in hand): one per freed slot would cost a request each. */
const MIN_RECEIVE = 10;
const RECEIVERS = 3;
/** Deletes wait this long for more to batch with (a finished job's message lingers that long; its visibility timeout is minutes). */
const DELETE_BATCH_WINDOW_MS = 50;

export class SqsPoller {
  private running = false;
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly invocations = new Set<Promise<void>>();
  /** Received messages not yet handed to an invocation. */
  private readonly buffer: Message[] = [];
  /** Messages asked for by receives in flight. */
  private requested = 0;
  private spaceWaiters: Array<() => void> = [];
  private pendingDeletes: Array<{ Id: string; ReceiptHandle: string }> = [];
  private deleteTimer: NodeJS.Timeout | undefined;
  private deleteSeq = 0;
  /** Invocations in flight now, and the most seen at once. */
  inFlight = 0;
  peakInFlight = 0;

  private readonly prefetch: number;
  private readonly minReceive: number;

  constructor(private readonly opts: PollerOptions) {
    this.prefetch = Math.min(PREFETCH, opts.maxConcurrency * opts.batchSize);
    this.minReceive = Math.min(MIN_RECEIVE, this.prefetch);
  }

  start(): void {
    this.running = true;
    setMaxListeners(50, this.abort.signal);
    this.loops = Array.from({ length: RECEIVERS }, () => this.receiveLoop());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    this.wakeReceivers();
    await Promise.allSettled(this.loops);
    await Promise.allSettled([...this.invocations]);
    // Messages still buffered were never handed to the worker: they reappear after the visibility timeout.
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

  /**
   * How many more messages to receive: enough to fill every free invocation
   * slot plus `prefetch` held ready, so a slot that frees up starts the next
   * message at once; asked for only once at least `minReceive` are wanted, so
   * receives stay batched even when the cap is reached and slots free up one
   * at a time.
   */
  private room(): number {
    const { maxConcurrency, batchSize } = this.opts;
    const outstanding = this.buffer.length + this.requested;
    const room = (maxConcurrency - this.inFlight) * batchSize + this.prefetch - outstanding;
    // Wait until a whole receive's worth is wanted, unless nothing is in hand or on its way.
    return room >= this.minReceive || outstanding === 0 ? room : 0;
  }

  private wakeReceivers(): void {
    for (const wake of this.spaceWaiters.splice(0)) wake();
  }

  private async receiveLoop(): Promise<void> {
    const { sqs, queueUrl } = this.opts;
    while (this.running) {
      const want = Math.min(10, this.room());
      if (want <= 0) {
        await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
        continue;
      }
      this.requested += want;
      let messages: Message[];
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: want,
            WaitTimeSeconds: 5,
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: this.abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (err) {
        if (!this.running) return;
        this.opts.onError?.(err);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      } finally {
        this.requested -= want;
      }
      this.buffer.push(...messages);
      this.dispatch();
    }
  }

  /** Starts invocations while slots are free and messages are in hand. */
  private dispatch(): void {
    const { maxConcurrency, batchSize } = this.opts;
    while (this.running && this.inFlight < maxConcurrency && this.buffer.length > 0) {
      const batch = this.buffer.splice(0, batchSize);
      const run = this.invoke(batch.map((m) => this.toRecord(m))).finally(() => {
        this.invocations.delete(run);
        this.dispatch();
        this.wakeReceivers();
      });
      this.invocations.add(run);
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
    for (const r of records)
      if (!failed.has(r.messageId))
        this.pendingDeletes.push({ Id: String(this.deleteSeq++), ReceiptHandle: r.receiptHandle });
    this.scheduleDeletes();
  }

  /** Deletes finished messages in batches of up to 10, gathered for a few milliseconds. */
  private scheduleDeletes(): void {
    if (this.pendingDeletes.length >= 10) {
      clearTimeout(this.deleteTimer);
      this.deleteTimer = undefined;
      void this.flushDeletes();
    } else if (!this.deleteTimer && this.pendingDeletes.length > 0) {
      this.deleteTimer = setTimeout(() => {
        this.deleteTimer = undefined;
        void this.flushDeletes();
      }, DELETE_BATCH_WINDOW_MS);
    }
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
