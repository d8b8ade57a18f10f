import { setTimeout as sleep } from 'node:timers/promises';
import { InfrastructureError, RequestPreparationError, UpstreamError } from '../connectors/errors';
import type { ResultEnvelope, WrapperDeps, WrapperMap, CallRequest, Wrapper } from '../connectors/types';
import type { Connector } from '../connectors/schema';
import { ownEntry, type Delivery } from '../connectors/common';
import type { OutcomeDelivery, PreparedDelivery } from '../delivery/salesforce-delivery';
import { AppError } from '../shared/errors';
import type { ConnectorSource } from './connector-store';
import type { Job, JobDelivery, JobError } from './job';
import { jobMessageSchema, type JobMessage, type JobQueue } from './job-queue';
import type { JobStore } from './job-store';
import { decideRetry, isRetryable } from './retry-policy';

export interface QueueRecord {
  messageId: string;
  body: string;
  receiptHandle: string;
}

interface Logger {
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
}

/** Thrown for a record that must go back to SQS (reported as a batch item failure). */
/** Lambda's longest timeout: the run lease when the invocation's deadline is not known. */
const MAX_INVOCATION_MS = 15 * 60 * 1000;

export class RetryLaterError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryLaterError';
  }
}

/** Results are stored in the job item; DynamoDB caps an item at 400 KB. */
const MAX_RESULT_BYTES = 300 * 1024;

export interface JobRunnerOptions {
  connectors: ConnectorSource;
  jobs: JobStore;
  queue: JobQueue;
  wrappers: WrapperMap;
  wrapperDeps: WrapperDeps;
  logger: Logger;
  /** Delivers outcomes of operations that declare a `delivery`; without it, none is delivered. */
  delivery?: OutcomeDelivery;
  /**
   * Waits up to this long are slept inside the invocation; longer ones are
   * handed back to SQS (message visibility), so a Retry-After of minutes does
   * not hold one of the 25 worker slots.
   * @default 2000
   */
  inlineRetryMaxMs?: number;
  sleep?: (ms: number) => Promise<unknown>;
  random?: () => number;
}

export function toJobError(err: unknown): JobError {
  if (err instanceof UpstreamError) {
    return { code: err.code, message: err.message, retryable: isRetryable(err), ...(err.statusCode !== undefined && { statusCode: err.statusCode }) };
  }
  if (err instanceof AppError) return { code: err.code, message: err.message, retryable: false };
  return { code: 'WORKER_ERROR', message: 'The worker failed while running this job; see the worker logs', retryable: false };
}

/** Runs one queued job: calls the wrapper, applies the retry policy, records the outcome. */
export class JobRunner {
  private readonly sleep: (ms: number) => Promise<unknown>;
  private readonly inlineRetryMaxMs: number;

  constructor(private readonly opts: JobRunnerOptions) {
    this.sleep = opts.sleep ?? ((ms) => sleep(ms));
    this.inlineRetryMaxMs = opts.inlineRetryMaxMs ?? 2000;
  }

  /**
   * Resolves when the record is finished with (job ended, or nothing to do);
   * throws when SQS must deliver it again (deferred retry, or an infrastructure failure).
   * `remainingTimeMs` is the invocation's time left; inline waits never overrun it.
   */
  async process(record: QueueRecord, remainingTimeMs: () => number = () => Number.POSITIVE_INFINITY): Promise<void> {
    const parsed = jobMessageSchema.safeParse(safeJson(record.body));
    if (!parsed.success) {
      // Not ours or corrupted: let it reach the DLQ where an operator can inspect it.
      throw new Error(`Malformed job message ${record.messageId}`);
    }
    return this.run(parsed.data, record, remainingTimeMs);
  }

  /** Runs the job of a parsed job message (the worker's dispatcher parses messages of every kind). */
  async run(message: JobMessage, record: QueueRecord, remainingTimeMs: () => number = () => Number.POSITIVE_INFINITY): Promise<void> {
    const { jobs, connectors, logger } = this.opts;
    const { jobId } = message;
    // The lease ends with this invocation (Lambda's longest is 15 minutes when the deadline is unknown).
    const remaining = remainingTimeMs();
    const run = await jobs.startRun(jobId, new Date(Date.now() + (Number.isFinite(remaining) ? remaining : MAX_INVOCATION_MS)));
    if ('missing' in run) throw new Error(`Job ${jobId} of message ${record.messageId} does not exist`);
    if ('busy' in run) {
      // A second message for a job another worker is running (SQS delivers at least once):
      // wait for that run to end, or for its lease to pass if that worker died.
      const leaseEnd = run.busy.leaseUntil ? Date.parse(run.busy.leaseUntil) : Date.now();
      const delayMs = Math.max(1000, leaseEnd - Date.now() + 1000);
      await this.opts.queue.deferMessage(record.receiptHandle, delayMs);
      throw new RetryLaterError(`Job ${jobId} is being run by another worker; message ${record.messageId} looks again in ${delayMs} ms`);
    }
    if ('ended' in run) {
      // The call is over; only a delivery still owed is done again, never the call.
      if (run.ended.delivery?.status === 'PENDING') return this.resumeDelivery(run.ended, record, remainingTimeMs);
      logger.info('job already finished; dropping redelivered message', { jobId });
      return;
    }
    const { job } = run;

    let connector: Connector | undefined;
    try {
      connector = await connectors.get(job.connectorId);
    } catch (err) {
      await jobs.fail(jobId, job.attempts, toJobError(err));
      return;
    }
    if (!connector || !connector.enabled || !Object.hasOwn(connector.operations, job.operation)) {
      const reason = !connector ? 'was deleted' : !connector.enabled ? 'was disabled' : `no longer has operation "${job.operation}"`;
      await jobs.fail(jobId, job.attempts, {
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
    let attempts = job.attempts;
    for (;;) {
      attempts += 1;
      let result: ResultEnvelope;
      try {
        result = await wrapper.call(request, this.opts.wrapperDeps);
      } catch (err) {
        if (err instanceof InfrastructureError) {
          // Nothing reached the service: give the run back so SQS's redelivery starts at once.
          // If that fails too, the lease runs out before the message is visible again.
          await jobs.releaseRun(jobId).catch((e: unknown) => logger.warn('could not release the run', { jobId, error: e }));
          throw err;
        }
        if (err instanceof RequestPreparationError) attempts -= 1; // nothing was sent
        const decision = decideRetry(err, attempts, connector.retry, this.opts.random);
        const jobError = toJobError(err);
        if (!decision.retryable || decision.delayMs === undefined) {
          logger.warn('job failed', { jobId, attempts, code: jobError.code, statusCode: jobError.statusCode });
          const spec = this.deliveryFor(connector, job.operation, 'FAILED');
          const ended = await jobs.fail(jobId, attempts, jobError, spec && PENDING);
          if (spec && ended) await this.deliver(ended, spec, record, remainingTimeMs);
          return;
        }
        // Leave room for the next call itself before the invocation times out.
        const fitsInline = decision.delayMs <= this.inlineRetryMaxMs && remainingTimeMs() > decision.delayMs + connector.timeoutMs + 1000;
        if (fitsInline) {
          await this.sleep(decision.delayMs);
          continue;
        }
        await jobs.recordDeferredRetry(jobId, attempts, jobError, new Date(Date.now() + decision.delayMs));
        await this.opts.queue.deferMessage(record.receiptHandle, decision.delayMs);
        throw new RetryLaterError(`Job ${jobId}: attempt ${attempts} failed (${jobError.code}); retrying in ${decision.delayMs} ms`);
      }
      const size = Buffer.byteLength(JSON.stringify(result));
      if (size > MAX_RESULT_BYTES) {
        const spec = this.deliveryFor(connector, job.operation, 'FAILED');
        const ended = await jobs.fail(
          jobId,
          attempts,
          {
            code: 'RESULT_TOO_LARGE',
            message: `The service's answer is ${size} bytes, over the ${MAX_RESULT_BYTES}-byte limit for a job result; narrow the request or map the response to fewer fields`,
            retryable: false,
            statusCode: result.statusCode,
          },
          spec && PENDING,
        );
        if (spec && ended) await this.deliver(ended, spec, record, remainingTimeMs);
        return;
      }
      const spec = this.deliveryFor(connector, job.operation, 'SUCCEEDED');
      const ended = await jobs.succeed(jobId, attempts, result, spec && PENDING);
      if (spec && ended) await this.deliver(ended, spec, record, remainingTimeMs);
      return;
    }
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
    const spec = connector && (job.status === 'SUCCEEDED' || job.status === 'FAILED') ? this.deliveryFor(connector, job.operation, job.status) : undefined;
    if (!spec) {
      await this.opts.jobs.setDelivery(job.jobId, {
        status: 'FAILED',
        attempts,
        error: { code: 'DELIVERY_NOT_CONFIGURED', message: `Connector "${job.connectorId}" no longer declares a delivery for operation "${job.operation}"`, retryable: false },
      });
      return;
    }
    await this.deliver(job, spec, record, remainingTimeMs);
  }

  /**
   * Delivers an ended job's outcome, with the one retry policy and the target
   * connector's retry settings: short waits inline, longer ones by handing the
   * message back to SQS (the redelivery then only delivers; see process()).
   */
  private async deliver(job: Job, spec: Delivery, record: QueueRecord, remainingTimeMs: () => number): Promise<void> {
    const { jobs, logger } = this.opts;
    const { jobId } = job;
    let attempts = job.delivery?.attempts ?? 0;
    let prepared: PreparedDelivery;
    try {
      prepared = await this.opts.delivery!.prepare(spec);
    } catch (err) {
      if (!(err instanceof AppError) && !(err instanceof UpstreamError)) throw err; // a DynamoDB failure: SQS redelivers
      await jobs.setDelivery(jobId, { status: 'FAILED', attempts, error: toJobError(err) });
      return;
    }
    for (;;) {
      attempts += 1;
      try {
        await prepared.send(job);
      } catch (err) {
        if (err instanceof InfrastructureError) throw err;
        if (err instanceof RequestPreparationError) attempts -= 1; // nothing was sent
        const decision = decideRetry(err, attempts, prepared.retry, this.opts.random);
        const error = toJobError(err);
        if (!decision.retryable || decision.delayMs === undefined) {
          logger.warn('delivery failed', { jobId, attempts, code: error.code, statusCode: error.statusCode });
          await jobs.setDelivery(jobId, { status: 'FAILED', attempts, error });
          return;
        }
        if (decision.delayMs <= this.inlineRetryMaxMs && remainingTimeMs() > decision.delayMs + prepared.timeoutMs + 1000) {
          await this.sleep(decision.delayMs);
          continue;
        }
        await jobs.setDelivery(jobId, { status: 'PENDING', attempts, error, nextAttemptAt: new Date(Date.now() + decision.delayMs).toISOString() });
        await this.opts.queue.deferMessage(record.receiptHandle, decision.delayMs);
        throw new RetryLaterError(`Job ${jobId}: delivery attempt ${attempts} failed (${error.code}); retrying in ${decision.delayMs} ms`);
      }
      await jobs.setDelivery(jobId, { status: 'DELIVERED', attempts, deliveredAt: new Date().toISOString() });
      return;
    }
  }
}

const PENDING: JobDelivery = { status: 'PENDING', attempts: 0 };

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
