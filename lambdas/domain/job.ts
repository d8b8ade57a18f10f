import type { ResultEnvelope } from '../connectors/types';
import { AppError, RequestPreparationError, UpstreamError } from '../shared/errors';
import { isRetryable } from './retry-policy';

export type JobStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface JobError {
  code: string;
  message: string;
  retryable: boolean;
  statusCode?: number;
}

/**
 * The one mapping of any failure to what a job or a delivery records: upstream
 * errors keep their code and status (retryable as the retry policy says), a
 * request that was never sent and caller errors keep their code (never
 * retryable), anything unknown says no more than WORKER_ERROR.
 */
export function toJobError(err: unknown): JobError {
  if (err instanceof UpstreamError) {
    return {
      code: err.code,
      message: err.message,
      retryable: isRetryable(err),
      ...(err.statusCode !== undefined && { statusCode: err.statusCode }),
    };
  }
  if (err instanceof RequestPreparationError || err instanceof AppError)
    return { code: err.code, message: err.message, retryable: false };
  return {
    code: 'WORKER_ERROR',
    message: 'The worker failed while running this job; see the worker logs',
    retryable: false,
  };
}

/**
 * Delivery of the job's outcome into Salesforce (lambdas/delivery), tracked
 * apart from the job: the job's own status and attempts never change because
 * of it, and retrying it never calls the external service again.
 */
export interface JobDelivery {
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  /** Delivery calls made to Salesforce. */
  attempts: number;
  /** The last failure (kept while a retry waits, and when it finally failed). */
  error?: JobError;
  /** When the next delivery attempt is due (ISO), while PENDING after a failure. */
  nextAttemptAt?: string;
  deliveredAt?: string;
}

/** One ended run of a job that was retried afterwards. */
export interface JobRun {
  attempts: number;
  error?: JobError;
  endedAt: string;
}

/** How many earlier runs a job keeps (its item must stay far below DynamoDB's 400 KB). */
export const MAX_JOB_HISTORY = 10;

/** A job record as stored (minus the table's key attributes). */
export interface Job {
  jobId: string;
  connectorId: string;
  operation: string;
  status: JobStatus;
  attempts: number;
  createdAt: string;
  updatedAt: string;
  payload: unknown;
  recordId?: string;
  correlationId?: string;
  /** W3C traceparent of the caller's request (or of the trace the hub started for it). */
  traceparent?: string;
  result?: ResultEnvelope;
  error?: JobError;
  /** When the next deferred attempt is due (ISO), while a retry waits in the queue. */
  nextAttemptAt?: string;
  /** While the job waits for its connector's limits or open circuit (domain/connector-limits.ts). */
  waiting?: { reason: 'CIRCUIT_OPEN' | 'RATE_LIMIT' | 'CONCURRENCY_LIMIT'; until?: string };
  /** Internal: when the job first waited (maxWaitSeconds counts from here), and how many times. */
  waitingSince?: string;
  waits?: number;
  /** Present when the operation declares a delivery for this outcome. */
  delivery?: JobDelivery;
  /**
   * Internal: while RUNNING, until when the worker that started it may still be
   * running it (its invocation's deadline). Another message for the job waits
   * until then instead of calling the service a second time.
   */
  leaseUntil?: string;
  /**
   * Internal: set when a run starts (with `leaseUntil`), removed by every
   * transition that records what became of it. Found on a job whose lease has
   * passed, it means the service may have been called and the outcome was never
   * recorded: the job ends OUTCOME_NOT_RECORDED instead of calling again.
   */
  callStartedAt?: string;
  /** Earlier runs of a retried job (POST /v1/jobs/{id}/retry), oldest first, the last MAX_JOB_HISTORY kept. */
  history?: JobRun[];
  /** Internal (claim check): the data store key holding the payload, when too large for the item. */
  payloadRef?: string;
  /** Internal (claim check): the data store key holding the result, when too large for the item. */
  resultRef?: string;
}

/** The public view of a job (GET /v1/jobs/{jobId}): the payload stays inside the hub. */
export function jobView(job: Job) {
  return {
    jobId: job.jobId,
    connectorId: job.connectorId,
    operation: job.operation,
    status: job.status,
    attempts: job.attempts,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.recordId !== undefined && { recordId: job.recordId }),
    ...(job.correlationId !== undefined && { correlationId: job.correlationId }),
    ...(job.result !== undefined && { result: job.result }),
    ...(job.error !== undefined && { error: job.error }),
    ...(job.nextAttemptAt !== undefined &&
      job.status !== 'SUCCEEDED' &&
      job.status !== 'FAILED' && { nextAttemptAt: job.nextAttemptAt }),
    ...(job.waiting !== undefined && job.status === 'QUEUED' && { waiting: job.waiting }),
    ...(job.delivery !== undefined && { delivery: job.delivery }),
    ...(job.history !== undefined && job.history.length > 0 && { history: job.history }),
  };
}
