import type { ResultEnvelope } from '../connectors/types';

export type JobStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface JobError {
  code: string;
  message: string;
  retryable: boolean;
  statusCode?: number;
}

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
  result?: ResultEnvelope;
  error?: JobError;
  /** When the next deferred attempt is due (ISO), while a retry waits in the queue. */
  nextAttemptAt?: string;
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
    ...(job.nextAttemptAt !== undefined && job.status !== 'SUCCEEDED' && job.status !== 'FAILED' && { nextAttemptAt: job.nextAttemptAt }),
  };
}
