import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod';
import {
  ConflictError,
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  WriteConflictError,
} from '../shared/errors';
import type { ConnectorSource } from './connector-source';
import { jobView, type Job, type JobStatus } from './job';
import { MAX_PAYLOAD_BYTES } from './job-data';
import type { JobQueuePort } from './job-queue';
import type { JobEvents } from './job-events';
import { newTraceparent, parseTraceparent } from './traceparent';
import type { JobRepository } from './job-repository';
import { JOB_INDEXES, JOB_LIST_SORT_KEY } from '../contract/job-indexes';
import { JOBS_TABLE } from '../contract/storage';

export interface SubmitCallout {
  connectorId: string;
  operation: string;
  payload: unknown;
  recordId?: string;
  idempotencyKey?: string;
  correlationId?: string;
  /** The caller's W3C traceparent header, as received; an invalid one is ignored and the hub starts a trace. */
  traceparent?: string;
}

export interface SubmitResult {
  jobId: string;
  status: 'QUEUED';
  statusUrl: string;
  /** false when an idempotent resubmission returned the existing job. */
  created: boolean;
}

interface Logger {
  error(message: string, ...extra: unknown[]): void;
}

export interface ListJobs {
  connectorId?: string;
  status?: JobStatus;
  limit: number;
  nextToken?: string;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const BAD_TOKEN =
  'nextToken is not valid; pass the value from the previous page unchanged (with the same connectorId and status)';

/**
 * A page key of the listing asked for: exactly the table's key (a job's) and the
 * index's, and for the same connector or status — anything else DynamoDB would
 * refuse with a 500 for us, or would page another listing.
 */
function pageKey(query: ListJobs): z.ZodType<Record<string, string>> {
  // Well-formed text only: a lone surrogate has no UTF-8 form, and DynamoDB would refuse the key (a 500 for us).
  const text = (s: z.ZodString) => s.refine((v) => !LONE_SURROGATE.test(v));
  const common = {
    [JOBS_TABLE.partitionKey]: text(z.string().regex(/^JOB#.{1,128}$/)),
    [JOB_LIST_SORT_KEY]: text(z.string().min(1).max(64)),
  };
  return query.connectorId !== undefined
    ? z.object({ ...common, [JOB_INDEXES.byConnector.partitionKey]: z.literal(query.connectorId) }).strict()
    : z.object({ ...common, [JOB_INDEXES.byStatus.partitionKey]: z.literal(query.status!) }).strict();
}

/** Canonical JSON (sorted keys) so the same body hashes the same whatever its key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function requestHash(parts: {
  connectorId: string;
  operation: string;
  payload: unknown;
  recordId?: string;
}): string {
  return createHash('sha256').update(canonical(parts)).digest('hex');
}

/** Accepts callouts: validates the target, records the job, enqueues it. Never calls the external service. */
export class CalloutService {
  constructor(
    private readonly deps: {
      connectors: ConnectorSource;
      jobs: JobRepository;
      queue: JobQueuePort;
      logger: Logger;
      /** Job transitions for operators (log line, metric). @default none */
      events?: JobEvents;
      now?: () => number;
      newId?: () => string;
    },
  ) {}

  async submit(input: SubmitCallout): Promise<SubmitResult> {
    const size = Buffer.byteLength(JSON.stringify(input.payload) ?? '');
    if (size > MAX_PAYLOAD_BYTES) {
      throw new PayloadTooLargeError(
        'PAYLOAD_TOO_LARGE',
        `The payload is ${size} bytes as JSON; the limit is ${MAX_PAYLOAD_BYTES} bytes. Send large content as a file (POST /v1/files)`,
      );
    }
    const connector = await this.deps.connectors.get(input.connectorId);
    if (!connector) {
      throw new NotFoundError(
        'CONNECTOR_NOT_FOUND',
        `No connector "${input.connectorId}" is registered; add it with "crm-bridge connectors put FILE"`,
      );
    }
    if (!Object.hasOwn(connector.operations, input.operation)) {
      const known = Object.keys(connector.operations).sort().join(', ');
      throw new NotFoundError(
        'OPERATION_NOT_FOUND',
        `Connector "${input.connectorId}" has no operation "${input.operation}"; its operations are: ${known}`,
      );
    }
    if (!connector.enabled) {
      throw new ConflictError(
        'CONNECTOR_DISABLED',
        `Connector "${input.connectorId}" is disabled; an admin can enable it with "crm-bridge connectors enable ${input.connectorId}"`,
      );
    }

    const jobId = (this.deps.newId ?? randomUUID)();
    if (input.idempotencyKey !== undefined) {
      const hash = requestHash(input);
      const claim = await this.deps.jobs.claimIdempotencyKey(input.idempotencyKey, hash, jobId);
      if (!claim.claimed) {
        if (claim.requestHash !== hash) {
          throw new ConflictError(
            'IDEMPOTENCY_KEY_REUSED',
            'This Idempotency-Key was already used for a different request; use a new key for a new callout',
          );
        }
        await this.resumeReplayed(claim.jobId, input);
        return { jobId: claim.jobId, status: 'QUEUED', statusUrl: `/v1/jobs/${claim.jobId}`, created: false };
      }
    }
    return this.createAndEnqueue(jobId, input);
  }

  /**
   * A resubmission with a known key: if the first request stopped half way (its
   * controller died after claiming the key, or after writing the job but before
   * queuing it), finish its work now, so the job the caller is given does run.
   * An extra message for a job still waiting is harmless: the worker runs a job
   * once (a conditional start with a run lease) and drops messages of ended jobs.
   */
  private async resumeReplayed(jobId: string, input: SubmitCallout): Promise<void> {
    const job = await this.deps.jobs.get(jobId, { payload: false, result: false });
    if (!job) {
      await this.createAndEnqueue(jobId, input, { replay: true });
      return;
    }
    // Waiting for its first run (not a deferred retry, whose message is delayed on purpose).
    if (job.status === 'QUEUED' && job.attempts === 0 && job.nextAttemptAt === undefined) {
      try {
        await this.deps.queue.enqueue(jobId);
      } catch (err) {
        throw new ServiceUnavailableError(
          'QUEUE_UNAVAILABLE',
          'The job queue is unavailable; retry the callout shortly',
          { cause: err },
        );
      }
    }
  }

  private async createAndEnqueue(jobId: string, input: SubmitCallout, { replay = false } = {}): Promise<SubmitResult> {
    const now = new Date((this.deps.now ?? Date.now)()).toISOString();
    const job: Job = {
      jobId,
      connectorId: input.connectorId,
      operation: input.operation,
      status: 'QUEUED',
      attempts: 0,
      createdAt: now,
      updatedAt: now,
      payload: input.payload,
      ...(input.recordId !== undefined && { recordId: input.recordId }),
      ...(input.correlationId !== undefined && { correlationId: input.correlationId }),
      traceparent: parseTraceparent(input.traceparent) ? input.traceparent!.trim() : newTraceparent(),
    };
    try {
      await this.deps.jobs.create(job);
    } catch (err) {
      // A concurrent resubmission created it first: that one queues it.
      if (replay && err instanceof WriteConflictError)
        return { jobId, status: 'QUEUED', statusUrl: `/v1/jobs/${jobId}`, created: false };
      if (input.idempotencyKey !== undefined)
        await this.deps.jobs.releaseIdempotencyKey(input.idempotencyKey).catch(() => undefined);
      throw err;
    }
    try {
      await this.deps.queue.enqueue(jobId);
    } catch (err) {
      // Nothing is lost: the job is closed as FAILED (so it can still be found)
      // and the key is freed so the caller's retry creates a fresh job.
      this.deps.logger.error('enqueue failed', { jobId, error: err });
      await this.deps.jobs
        .fail(jobId, 0, {
          code: 'QUEUE_UNAVAILABLE',
          message: 'The job could not be queued; submit the callout again',
          retryable: true,
        })
        .catch((e) => this.deps.logger.error('could not mark job failed', { jobId, error: e }));
      if (input.idempotencyKey !== undefined)
        await this.deps.jobs.releaseIdempotencyKey(input.idempotencyKey).catch(() => undefined);
      throw new ServiceUnavailableError(
        'QUEUE_UNAVAILABLE',
        'The job queue is unavailable; retry the callout shortly',
        { cause: err },
      );
    }
    this.deps.events?.accepted({
      jobId,
      connectorId: job.connectorId,
      operation: job.operation,
      ...(job.correlationId !== undefined && { correlationId: job.correlationId }),
      traceId: parseTraceparent(job.traceparent)!.traceId,
    });
    return { jobId, status: 'QUEUED', statusUrl: `/v1/jobs/${jobId}`, created: !replay };
  }

  /** Jobs newest first by connector and/or status; `nextToken` is the opaque (base64url) key of the next page. */
  async listJobs(query: ListJobs) {
    if (query.connectorId === undefined && query.status === undefined)
      throw new InvalidRequestError('Give connectorId, status or both');
    let startKey: Record<string, string> | undefined;
    if (query.nextToken !== undefined) {
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(query.nextToken, 'base64url').toString('utf8'));
      } catch {
        throw new InvalidRequestError(BAD_TOKEN);
      }
      const key = pageKey(query).safeParse(decoded);
      if (!key.success) throw new InvalidRequestError(BAD_TOKEN);
      startKey = key.data;
    }
    const page = await this.deps.jobs.list({
      connectorId: query.connectorId,
      status: query.status,
      limit: query.limit,
      startKey,
    });
    return {
      jobs: page.jobs.map(jobView),
      ...(page.nextKey && { nextToken: Buffer.from(JSON.stringify(page.nextKey)).toString('base64url') }),
    };
  }

  /** Runs a FAILED job again (same job, fresh attempt budget, earlier run kept in its history). */
  async retryJob(jobId: string): Promise<SubmitResult> {
    const outcome = await this.deps.jobs.retry(jobId);
    if ('missing' in outcome)
      throw new NotFoundError('JOB_NOT_FOUND', `No job "${jobId}" exists (jobs expire after their retention period)`);
    if ('notRetryable' in outcome) {
      const { status, delivery } = outcome.notRetryable;
      throw new ConflictError(
        'JOB_NOT_RETRYABLE',
        status === 'FAILED'
          ? `Job "${jobId}" is FAILED but its failure is still being delivered to Salesforce; retry it once the delivery has ended (delivery status ${delivery?.status})`
          : `Job "${jobId}" is ${status}; only a FAILED job can be retried`,
      );
    }
    try {
      await this.deps.queue.enqueue(jobId);
    } catch (err) {
      // As for a new job: nothing is left QUEUED without a message. It is FAILED as before, and can be retried again.
      this.deps.logger.error('enqueue failed', { jobId, error: err });
      await this.deps.jobs
        .undoRetry(outcome.job, outcome.previous)
        .catch((e) => this.deps.logger.error('could not put the job back to FAILED', { jobId, error: e }));
      throw new ServiceUnavailableError('QUEUE_UNAVAILABLE', 'The job queue is unavailable; retry shortly', {
        cause: err,
      });
    }
    return { jobId, status: 'QUEUED', statusUrl: `/v1/jobs/${jobId}`, created: false };
  }

  async getJob(jobId: string) {
    // The view shows the result, never the payload: only the result is read back from the job data store.
    const job = await this.deps.jobs.get(jobId, { payload: false, result: true });
    if (!job)
      throw new NotFoundError('JOB_NOT_FOUND', `No job "${jobId}" exists (jobs expire after their retention period)`);
    return jobView(job);
  }
}
