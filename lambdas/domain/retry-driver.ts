import { setTimeout as sleep } from 'node:timers/promises';
import { InfrastructureError, RequestPreparationError, RetryLaterError } from '../shared/errors';
import { toJobError, type JobError } from './job';
import type { JobQueuePort } from './job-queue';
import type { QueueRecord } from './queue-record';
import { decideRetry, type RetrySettings } from './retry-policy';

/** An attempt that failed: what it threw, as recorded, and the attempts made so far (this one included, unless it sent nothing). */
export interface AttemptFailure {
  cause: unknown;
  error: JobError;
  attempts: number;
  durationMs: number;
}

/** A failure the policy retries: after `delayMs`, slept in this invocation (`inline`) or by handing the message back to SQS (`queue`). */
export interface PlannedRetry extends AttemptFailure {
  delayMs: number;
  by: 'inline' | 'queue';
}

/** How retried work ended in this invocation (a retry handed back to SQS throws RetryLaterError instead). */
export type RetryOutcome<T> =
  | { kind: 'succeeded'; value: T; attempts: number; durationMs: number }
  | ({ kind: 'failed' } & AttemptFailure)
  /** `before` or `deferring` said there is nothing more to do. */
  | { kind: 'stopped' };

/** One piece of work under the retry policy: a job's call, an outcome delivery, a file link. */
export interface RetriedWork<T, P = undefined> {
  /** Starts the RetryLaterError message, e.g. "Job j-1: delivery attempt" (then " 2 failed (CODE); retrying in 500 ms"). */
  label: string;
  /** Attempts recorded by earlier invocations. */
  attempts: number;
  retry: RetrySettings;
  /** One attempt's timeout: an inline wait must leave room for the next attempt before the invocation ends. */
  timeoutMs: number;
  /** Before each attempt, given the attempts made: a value for `attempt` (e.g. a limiter permit), or null to stop. May throw. */
  before?(attempts: number): Promise<P | null>;
  attempt(admitted: P): Promise<T>;
  /** Told of each retry before its wait (log lines, metrics). */
  retrying?(retry: PlannedRetry): void;
  /** Records a retry handed back to SQS before the message is deferred; false when there is nothing left to retry. */
  deferring(retry: PlannedRetry): Promise<boolean | void>;
}

export interface RetryDriverOptions {
  queue: Pick<JobQueuePort, 'deferMessage'>;
  /**
   * Waits up to this long are slept inside the invocation; longer ones are
   * handed back to SQS (message visibility), so a Retry-After of minutes does
   * not hold one of the worker slots.
   * @default 2000
   */
  inlineRetryMaxMs?: number;
  sleep?: (ms: number) => Promise<unknown>;
  random?: () => number;
}

/**
 * The one loop that applies the retry policy (retry-policy.ts) in the worker:
 * attempt; on a retryable failure wait inline if the wait is short and fits in
 * the invocation, else record the wait, hand the message back to SQS with the
 * delay and throw RetryLaterError. An InfrastructureError (nothing reached the
 * service) is thrown as is; an attempt that failed with RequestPreparationError
 * sent nothing and does not count.
 */
export class RetryDriver {
  private readonly sleep: (ms: number) => Promise<unknown>;
  private readonly inlineRetryMaxMs: number;

  constructor(private readonly opts: RetryDriverOptions) {
    this.sleep = opts.sleep ?? ((ms) => sleep(ms));
    this.inlineRetryMaxMs = opts.inlineRetryMaxMs ?? 2000;
  }

  async run<T, P = undefined>(
    work: RetriedWork<T, P>,
    record: QueueRecord,
    remainingTimeMs: () => number,
  ): Promise<RetryOutcome<T>> {
    let attempts = work.attempts;
    for (;;) {
      const admitted = work.before ? await work.before(attempts) : (undefined as P);
      if (admitted === null) return { kind: 'stopped' };
      attempts += 1;
      const start = Date.now();
      let value: T;
      try {
        value = await work.attempt(admitted);
      } catch (cause) {
        if (cause instanceof InfrastructureError) throw cause;
        if (cause instanceof RequestPreparationError) attempts -= 1; // nothing was sent
        const failure: AttemptFailure = { cause, error: toJobError(cause), attempts, durationMs: Date.now() - start };
        const decision = decideRetry(cause, attempts, work.retry, this.opts.random);
        if (!decision.retryable || decision.delayMs === undefined) return { kind: 'failed', ...failure };
        const { delayMs } = decision;
        // Leave room for the next attempt itself before the invocation times out.
        const inline = delayMs <= this.inlineRetryMaxMs && remainingTimeMs() > delayMs + work.timeoutMs + 1000;
        const retry: PlannedRetry = { ...failure, delayMs, by: inline ? 'inline' : 'queue' };
        work.retrying?.(retry);
        if (inline) {
          await this.sleep(delayMs);
          continue;
        }
        if ((await work.deferring(retry)) === false) return { kind: 'stopped' };
        await this.opts.queue.deferMessage(record.receiptHandle, delayMs);
        throw new RetryLaterError(
          `${work.label} ${attempts} failed (${failure.error.code}); retrying in ${delayMs} ms`,
        );
      }
      return { kind: 'succeeded', value, attempts, durationMs: Date.now() - start };
    }
  }
}
