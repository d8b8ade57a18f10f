import { setTimeout as sleep } from 'node:timers/promises';
import { callWrapper } from '../connectors/invoke';
import type { ResultEnvelope, WrapperDeps, WrapperMap, CallRequest, Wrapper } from '../connectors/types';
import type { Connector } from '../connectors/schema';
import { ownEntry, type Delivery } from '../connectors/common';
import {
  AppError,
  InfrastructureError,
  RequestPreparationError,
  RetryLaterError,
  UpstreamError,
  WriteConflictError,
} from '../shared/errors';
import type { ConnectorSource } from './connector-source';
import {
  limitSettings,
  type CallOutcome,
  type ConnectorLimiter,
  type LimitSettings,
  type Permit,
} from './connector-limits';
import { toJobError, type Job, type JobDelivery, type JobError } from './job';
import type { OutcomeDelivery, PreparedDelivery } from './outcome-delivery';
import { noJobEvents, type JobEvents, type JobRef } from './job-events';
import { childTraceparent, parseTraceparent } from './traceparent';
import { MAX_RESULT_BYTES } from './job-data';
import { MAX_DELAY_SECONDS, type JobMessage, type JobQueuePort } from './job-queue';
import type { JobRepository } from './job-repository';
import { RetryDriver, type AttemptFailure, type RetryDriverOptions } from './retry-driver';
import { isRetryable } from './retry-policy';
import type { QueueRecord } from './queue-record';

interface Logger {
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
}

/** Lambda's longest timeout: the run lease when the invocation's deadline is not known. */
const MAX_INVOCATION_MS = 15 * 60 * 1000;

/** Tries at writing a call's outcome, in this invocation, before the job is ended OUTCOME_NOT_RECORDED. */
const RECORD_TRIES = 3;
const RECORD_RETRY_BASE_MS = 100;

/** The retry driver's options (queue, inline wait limit, sleep, random) and what a job needs. */
export interface JobRunnerOptions extends RetryDriverOptions {
  connectors: ConnectorSource;
  jobs: JobRepository;
  queue: JobQueuePort;
  wrappers: WrapperMap;
  wrapperDeps: WrapperDeps;
  logger: Logger;
  /** Per-connector limits and circuit breaker (shared by all workers); without it, none apply. */
  limiter?: ConnectorLimiter;
  /** Job transitions for operators (log lines, metrics). @default none */
  events?: JobEvents;
  /** Delivers outcomes of operations that declare a `delivery`; without it, none is delivered. */
  delivery?: OutcomeDelivery;
}

/** Runs one queued job: calls the wrapper, applies the retry policy, records the outcome. */
export class JobRunner {
  private readonly sleep: (ms: number) => Promise<unknown>;
  private readonly events: JobEvents;
  private readonly retries: RetryDriver;

  constructor(private readonly opts: JobRunnerOptions) {
    this.events = opts.events ?? noJobEvents;
    this.sleep = opts.sleep ?? ((ms) => sleep(ms));
    this.retries = new RetryDriver({ ...opts, sleep: this.sleep });
  }

  /**
   * Runs the job of a parsed job message (the worker's dispatcher parses messages of every kind).
   * Resolves when the record is finished with (job ended, or nothing to do);
   * throws when SQS must deliver it again (deferred retry, or an infrastructure failure).
   * `remainingTimeMs` is the invocation's time left; inline waits never overrun it.
   */
  async run(
    message: JobMessage,
    record: QueueRecord,
    remainingTimeMs: () => number = () => Number.POSITIVE_INFINITY,
  ): Promise<void> {
    const { jobs, connectors, logger } = this.opts;
    const { jobId } = message;
    // The lease ends with this invocation (Lambda's longest is 15 minutes when the deadline is unknown).
    const remaining = remainingTimeMs();
    const run = await jobs.startRun(
      jobId,
      new Date(Date.now() + (Number.isFinite(remaining) ? remaining : MAX_INVOCATION_MS)),
    );
    if ('missing' in run) throw new Error(`Job ${jobId} of message ${record.messageId} does not exist`);
    if ('busy' in run) {
      // A second message for a job another worker is running (SQS delivers at least once):
      // wait for that run to end, or for its lease to pass if that worker died.
      const leaseEnd = run.busy.leaseUntil ? Date.parse(run.busy.leaseUntil) : Date.now();
      const delayMs = Math.max(1000, leaseEnd - Date.now() + 1000);
      await this.opts.queue.deferMessage(record.receiptHandle, delayMs);
      throw new RetryLaterError(
        `Job ${jobId} is being run by another worker; message ${record.messageId} looks again in ${delayMs} ms`,
      );
    }
    if ('interrupted' in run) return this.endInterrupted(run.interrupted, record, remainingTimeMs);
    if ('ended' in run) {
      // The call is over; only a delivery still owed is done again, never the call.
      if (run.ended.delivery?.status === 'PENDING') return this.resumeDelivery(run.ended, record, remainingTimeMs);
      logger.info('job already finished; dropping redelivered message', { jobId });
      return;
    }
    const { job } = run;
    const ref = jobRef(job);
    // Accepted -> first start: how long jobs sit in the queue (later runs are retries).
    const firstRun = job.attempts === 0 && !job.error;
    this.events.started({
      ...ref,
      attempt: job.attempts + 1,
      ...(firstRun && { queueWaitMs: Math.max(0, Date.now() - Date.parse(job.createdAt)) }),
    });
    // Nothing is called until the wrapper runs: a write that fails before then gives
    // the run back, so the redelivery runs the job instead of finding it interrupted.
    const failBeforeCall = (error: JobError) =>
      jobs.fail(jobId, job.attempts, error).then(
        () => this.events.failed({ ...ref, attempt: job.attempts, code: error.code }),
        async (err: unknown) => {
          await jobs
            .releaseRun(jobId)
            .catch((e: unknown) => logger.warn('could not release the run', { jobId, error: e }));
          throw err;
        },
      );

    let connector: Connector | undefined;
    try {
      connector = await connectors.get(job.connectorId);
    } catch (err) {
      await failBeforeCall(toJobError(err));
      return;
    }
    if (!connector || !connector.enabled || !Object.hasOwn(connector.operations, job.operation)) {
      const reason = !connector
        ? 'was deleted'
        : !connector.enabled
          ? 'was disabled'
          : `no longer has operation "${job.operation}"`;
      await failBeforeCall({
        code: !connector ? 'CONNECTOR_NOT_FOUND' : !connector.enabled ? 'CONNECTOR_DISABLED' : 'OPERATION_NOT_FOUND',
        message: `Connector "${job.connectorId}" ${reason} before the job ran`,
        retryable: false,
      });
      return;
    }

    const wrapper = this.opts.wrappers[connector.type] as Wrapper<Connector>;
    const request: CallRequest = {
      connector,
      operationName: job.operation,
      payload: job.payload,
      jobId,
      ...(job.recordId !== undefined && { recordId: job.recordId }),
      ...(job.correlationId !== undefined && { correlationId: job.correlationId }),
    };
    const limits = this.opts.limiter && limitSettings(connector);
    const outcome = await this.retries.run<ResultEnvelope, Permit | undefined>(
      {
        label: `Job ${jobId}: attempt`,
        attempts: job.attempts,
        retry: connector.retry,
        timeoutMs: connector.timeoutMs,
        before: async (attempts) =>
          limits ? this.admit(job, limits, attempts, remainingTimeMs, failBeforeCall) : undefined,
        attempt: async (permit) => {
          // Each call is a new span of the job's trace.
          if (job.traceparent !== undefined) request.traceparent = childTraceparent(job.traceparent);
          try {
            const result = await callWrapper(wrapper, request, this.opts.wrapperDeps);
            if (permit) await this.releasePermit(job.connectorId, limits!, permit, { kind: 'ok' });
            return result;
          } catch (err) {
            if (permit) await this.releasePermit(job.connectorId, limits!, permit, callOutcome(err));
            // Nothing reached the service: give the run back so SQS's redelivery starts at once.
            // If that fails too, the lease runs out before the message is visible again.
            if (err instanceof InfrastructureError)
              await jobs
                .releaseRun(jobId)
                .catch((e: unknown) => logger.warn('could not release the run', { jobId, error: e }));
            throw err;
          }
        },
        retrying: (retry) =>
          this.events.attemptFailed({ ...failureEvent(ref, retry), retryInMs: retry.delayMs, retryBy: retry.by }),
        deferring: (retry) =>
          this.persist(() =>
            jobs.recordDeferredRetry(jobId, retry.attempts, retry.error, new Date(Date.now() + retry.delayMs)),
          ),
      },
      record,
      remainingTimeMs,
    );
    if (outcome.kind === 'stopped') return; // the job waits in a new message, or waited too long and has ended
    if (outcome.kind === 'failed') {
      this.events.attemptFailed(failureEvent(ref, outcome));
      this.events.failed(failureEvent(ref, outcome));
      return this.recordOutcome(
        jobId,
        connector,
        job.operation,
        outcome.attempts,
        { error: outcome.error },
        record,
        remainingTimeMs,
      );
    }
    const { value: result, attempts, durationMs } = outcome;
    const size = Buffer.byteLength(JSON.stringify(result) ?? '');
    if (size > MAX_RESULT_BYTES) {
      const error: JobError = {
        code: 'RESULT_TOO_LARGE',
        message: `The service's answer is ${size} bytes, over the ${MAX_RESULT_BYTES}-byte limit for a job result; narrow the request or map the response to fewer fields`,
        retryable: false,
        statusCode: result.statusCode,
      };
      this.events.failed({ ...ref, attempt: attempts, durationMs, code: error.code, statusCode: result.statusCode });
      return this.recordOutcome(jobId, connector, job.operation, attempts, { error }, record, remainingTimeMs);
    }
    this.events.succeeded({ ...ref, attempt: attempts, durationMs, statusCode: result.statusCode });
    return this.recordOutcome(jobId, connector, job.operation, attempts, { result }, record, remainingTimeMs);
  }

  /**
   * The connector's limits let this call go (a permit, released after the call),
   * or the job waits, using no attempt. A perSecond turn due within a second is
   * waited for here, so the call starts on time (SQS delays come in whole
   * seconds, most of a slot at 5 calls a second); so is the expected end of a
   * call in flight that this job is to follow (maxConcurrency). A longer wait gives the run
   * back (QUEUED, no call started) and hands the job to a new message delayed
   * until then (null: this record is done with; the event source deletes it
   * after the new one is sent). A wait thus never uses one of the message's
   * receives, so waiting never dead-letters a job. Past maxWaitSeconds of
   * waiting, the job fails instead (null too).
   */
  private async admit(
    job: Job,
    limits: LimitSettings,
    attempts: number,
    remainingTimeMs: () => number,
    failBeforeCall: (e: JobError) => Promise<unknown>,
  ): Promise<Permit | null> {
    const { jobs, logger } = this.opts;
    const giveBack = async (err: unknown): Promise<never> => {
      await jobs
        .releaseRun(job.jobId)
        .catch((e: unknown) => logger.warn('could not release the run', { jobId: job.jobId, error: e }));
      throw err;
    };
    // Only perSecond turns and the end of a call in flight (`soon`) are waited for inline: at most about
    // perSecond jobs are that close to their turn, and at most one job per call in flight has its end.
    const inlineOk = limits.perSecond !== undefined;
    let waitedInline = 0;
    for (;;) {
      const acquired = await this.opts.limiter!.acquire(job.connectorId, limits, job.jobId).catch(giveBack);
      if ('permit' in acquired) {
        // A slot booked for a moment from now (under a second): the call starts then.
        const early = (acquired.permit.startAt ?? 0) - Date.now();
        if (early > 0) await this.sleep(early);
        return acquired.permit;
      }
      const { reason, untilMs, soon } = acquired.wait;
      const gapMs = Math.max(1, untilMs - Date.now());
      if (
        ((inlineOk && reason === 'RATE_LIMIT') || soon) &&
        gapMs <= INLINE_WAIT_MS &&
        waitedInline + gapMs <= INLINE_WAIT_BUDGET_MS &&
        remainingTimeMs() > gapMs + limits.leaseMs
      ) {
        waitedInline += gapMs;
        await this.sleep(gapMs);
        continue;
      }
      const now = Date.now();
      const since = job.waitingSince ? Date.parse(job.waitingSince) : now;
      if (now - since >= limits.maxWaitMs) {
        const what = reason === 'CIRCUIT_OPEN' ? 'its circuit breaker stayed open' : 'its limits allowed no call';
        await failBeforeCall({
          code: reason === 'CIRCUIT_OPEN' ? 'CIRCUIT_OPEN' : 'RATE_LIMITED',
          message: `Connector "${job.connectorId}": the job waited over maxWaitSeconds (${limits.maxWaitMs / 1000}) and ${what}`,
          retryable: false,
        });
        return null;
      }
      await this.persist(() =>
        jobs.recordWait(job.jobId, attempts, { reason, until: new Date(untilMs).toISOString() }),
      ).catch(giveBack);
      // Back a little early for a perSecond turn (the rest is waited inline), else once it has passed.
      const delayMs = waitDelayMs(untilMs - now, since + limits.maxWaitMs - now, inlineOk && reason === 'RATE_LIMIT');
      this.events.waiting({ ...jobRef(job), attempt: attempts, reason, until: new Date(untilMs).toISOString() });
      // The new message first: if it cannot be sent, this one is redelivered (nothing lost).
      await this.opts.queue.enqueue(job.jobId, delayMs);
      return null;
    }
  }

  /** A lost release only holds a slot until its lease ends: logged, not fatal to the job. */
  private async releasePermit(
    connectorId: string,
    limits: LimitSettings,
    permit: Permit,
    outcome: CallOutcome,
  ): Promise<void> {
    await this.opts
      .limiter!.release(connectorId, limits, permit, outcome, Date.now())
      .catch((e: unknown) =>
        this.opts.logger.warn('could not release a limiter permit', { connectorId, error: errorName(e) }),
      );
  }

  /**
   * Records how a run that called the service ended, then delivers it if the
   * operation says so. The call is never made again for it: a write that keeps
   * failing is retried here a few times, then the job is ended
   * OUTCOME_NOT_RECORDED (a smaller write, which may pass where a large one
   * did not). If even that fails, the error goes back to SQS, and the
   * redelivery finds the run interrupted once its lease has passed (startRun).
   */
  private async recordOutcome(
    jobId: string,
    connector: Connector,
    operation: string,
    attempts: number,
    outcome: { result: ResultEnvelope } | { error: JobError },
    record: QueueRecord,
    remainingTimeMs: () => number,
  ): Promise<void> {
    const { jobs, logger } = this.opts;
    let spec = this.deliveryFor(connector, operation, 'result' in outcome ? 'SUCCEEDED' : 'FAILED');
    let ended: Job | undefined;
    try {
      ended = await this.persist(() =>
        'result' in outcome
          ? jobs.succeed(jobId, attempts, outcome.result, spec && PENDING)
          : jobs.fail(jobId, attempts, outcome.error, spec && PENDING),
      );
    } catch (err) {
      logger.error('could not record the outcome of a call; ending the job OUTCOME_NOT_RECORDED', {
        jobId,
        error: err,
      });
      spec = this.deliveryFor(connector, operation, 'FAILED');
      const answered =
        'result' in outcome ? `answered with HTTP ${outcome.result.statusCode}` : `failed with ${outcome.error.code}`;
      ended = await jobs.fail(
        jobId,
        attempts,
        {
          code: 'OUTCOME_NOT_RECORDED',
          message: `The service was called (attempt ${attempts}) and ${answered}, but the hub could not record the outcome (${errorName(err)}); the call is not repeated because it may have taken effect. Check the service before submitting the callout again`,
          retryable: false,
        },
        spec && PENDING,
      );
    }
    if (spec && ended) await this.deliver(ended, spec, record, remainingTimeMs);
  }

  /** A write after the call: a throttled or briefly unavailable table gets a few more tries here. */
  private async persist<T>(write: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries += 1) {
      try {
        return await write();
      } catch (err) {
        if (tries >= RECORD_TRIES || err instanceof WriteConflictError) throw err;
        this.opts.logger.warn('recording the job failed; trying again', { tries, error: errorName(err) });
        await this.sleep(RECORD_RETRY_BASE_MS * 4 ** (tries - 1));
      }
    }
  }

  /**
   * A run started and its lease passed with no outcome recorded: the worker
   * died or could not write, possibly after the service was called. The call
   * is not made again; the job ends FAILED, and its delivery (if any) is made.
   */
  private async endInterrupted(
    job: Job & { callStartedAt: string },
    record: QueueRecord,
    remainingTimeMs: () => number,
  ): Promise<void> {
    const { jobs, logger } = this.opts;
    let connector: Connector | undefined;
    try {
      connector = await this.opts.connectors.get(job.connectorId);
    } catch (err) {
      if (!(err instanceof AppError)) throw err; // a DynamoDB failure: SQS redelivers
    }
    const spec = connector && this.deliveryFor(connector, job.operation, 'FAILED');
    const attempts = job.attempts + 1;
    logger.warn('a run ended without recording its outcome; not calling again', {
      jobId: job.jobId,
      callStartedAt: job.callStartedAt,
    });
    const ended = await jobs.failInterrupted(
      job,
      attempts,
      {
        code: 'OUTCOME_NOT_RECORDED',
        message: `A worker started this job's call at ${job.callStartedAt} and its outcome was never recorded (the worker stopped, or could not write the job); the call may have reached the service, so it is not made again. Check the service before submitting the callout again`,
        retryable: false,
      },
      spec && PENDING,
    );
    if (ended === false) return; // another message for the job recorded it first
    if (spec && ended) await this.deliver(ended, spec, record, remainingTimeMs);
  }

  /** The delivery the operation declares for this outcome (its own entry, else "*"), if the runner can deliver. */
  private deliveryFor(connector: Connector, operation: string, status: 'SUCCEEDED' | 'FAILED'): Delivery | undefined {
    if (!this.opts.delivery) return undefined;
    const spec = ownEntry(connector.delivery, operation) ?? ownEntry(connector.delivery, '*');
    return spec?.on.includes(status) ? spec : undefined;
  }

  /** A redelivered message for an ended job whose delivery is still owed (a deferred retry, or a worker that stopped in between). */
  private async resumeDelivery(job: Job, record: QueueRecord, remainingTimeMs: () => number): Promise<void> {
    const attempts = job.delivery?.attempts ?? 0;
    let connector: Connector | undefined;
    try {
      connector = await this.opts.connectors.get(job.connectorId);
    } catch (err) {
      if (!(err instanceof AppError)) throw err; // a DynamoDB failure: SQS redelivers
      await this.opts.jobs.setDelivery(job.jobId, { status: 'FAILED', attempts, error: toJobError(err) });
      return;
    }
    const spec =
      connector && (job.status === 'SUCCEEDED' || job.status === 'FAILED')
        ? this.deliveryFor(connector, job.operation, job.status)
        : undefined;
    if (!spec) {
      await this.opts.jobs.setDelivery(job.jobId, {
        status: 'FAILED',
        attempts,
        error: {
          code: 'DELIVERY_NOT_CONFIGURED',
          message: `Connector "${job.connectorId}" no longer declares a delivery for operation "${job.operation}"`,
          retryable: false,
        },
      });
      return;
    }
    await this.deliver(job, spec, record, remainingTimeMs);
  }

  /**
   * Delivers an ended job's outcome, with the one retry policy and the target
   * connector's retry settings: short waits inline, longer ones by handing the
   * message back to SQS (the redelivery then only delivers; see run()).
   */
  private async deliver(job: Job, spec: Delivery, record: QueueRecord, remainingTimeMs: () => number): Promise<void> {
    const { jobs } = this.opts;
    const { jobId } = job;
    let prepared: PreparedDelivery;
    try {
      prepared = await this.opts.delivery!.prepare(spec);
    } catch (err) {
      if (!(err instanceof AppError) && !(err instanceof UpstreamError) && !(err instanceof RequestPreparationError))
        throw err; // a DynamoDB failure: SQS redelivers
      await jobs.setDelivery(jobId, {
        status: 'FAILED',
        attempts: job.delivery?.attempts ?? 0,
        error: toJobError(err),
      });
      return;
    }
    const ref = jobRef(job);
    const outcome = await this.retries.run(
      {
        label: `Job ${jobId}: delivery attempt`,
        attempts: job.delivery?.attempts ?? 0,
        retry: prepared.retry,
        timeoutMs: prepared.timeoutMs,
        attempt: () => prepared.send(job),
        retrying: (retry) => this.events.deliveryFailed({ ...failureEvent(ref, retry), retryInMs: retry.delayMs }),
        deferring: (retry) =>
          jobs.setDelivery(jobId, {
            status: 'PENDING',
            attempts: retry.attempts,
            error: retry.error,
            nextAttemptAt: new Date(Date.now() + retry.delayMs).toISOString(),
          }),
      },
      record,
      remainingTimeMs,
    );
    if (outcome.kind === 'failed') {
      this.events.deliveryFailed(failureEvent(ref, outcome));
      await jobs.setDelivery(jobId, { status: 'FAILED', attempts: outcome.attempts, error: outcome.error });
    } else if (outcome.kind === 'succeeded') {
      await jobs.setDelivery(jobId, {
        status: 'DELIVERED',
        attempts: outcome.attempts,
        deliveredAt: new Date().toISOString(),
      });
      this.events.delivered({ ...ref, attempt: outcome.attempts, durationMs: outcome.durationMs });
    }
  }
}

/** A failed attempt in log lines and metrics: its code and HTTP status, never its message. */
function failureEvent(ref: JobRef, failure: AttemptFailure) {
  return {
    ...ref,
    attempt: failure.attempts,
    durationMs: failure.durationMs,
    code: failure.error.code,
    ...(failure.error.statusCode !== undefined && { statusCode: failure.error.statusCode }),
  };
}

/** What identifies a job in log lines and metrics (no payload). */
function jobRef(job: Job): JobRef {
  const traceId = parseTraceparent(job.traceparent)?.traceId;
  return {
    jobId: job.jobId,
    connectorId: job.connectorId,
    operation: job.operation,
    ...(job.correlationId !== undefined && { correlationId: job.correlationId }),
    ...(traceId && { traceId }),
  };
}

const PENDING: JobDelivery = { status: 'PENDING', attempts: 0 };

/**
 * A perSecond turn this close is waited for in the invocation (a delayed
 * message may come back a second or so late); at most this much inline waiting per run.
 */
const INLINE_WAIT_MS = 2000;
const INLINE_WAIT_BUDGET_MS = 4000;

/**
 * How long a waiting job's new message is delayed: until the limit allows
 * (when `early`, one to two seconds less, in SQS's whole seconds, so the job is
 * back before its turn and waits the rest inline; else rounded up), at least 1 s, at
 * most SQS's 15 minutes (a longer wait takes several messages), and never much
 * past the job's maxWaitSeconds, so it then fails on time.
 */
export function waitDelayMs(wantedMs: number, waitLeftMs: number, early = false): number {
  const seconds = early ? Math.floor(wantedMs / 1000) - 1 : Math.ceil(wantedMs / 1000);
  return Math.min(Math.max(1, seconds), MAX_DELAY_SECONDS, Math.max(1, Math.ceil(waitLeftMs / 1000) + 1)) * 1000;
}

/** What a call's failure tells the connector's limiter and breaker. */
function callOutcome(err: unknown): CallOutcome {
  // Only an upstream error reached the service (not an unsent request, nor our own infrastructure).
  if (!(err instanceof UpstreamError)) return { kind: 'none' };
  return {
    kind: 'failed',
    retryable: isRetryable(err),
    ...(err.statusCode !== undefined && { statusCode: err.statusCode }),
    ...(err.details.retryAfterMs !== undefined && { retryAfterMs: err.details.retryAfterMs }),
  };
}

/** Names the failure without its message (which may quote data). */
function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'unknown error';
}
