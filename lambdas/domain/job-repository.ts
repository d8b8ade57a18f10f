import type { ResultEnvelope } from '../connectors/types';
import { WriteConflictError } from '../shared/errors';
import type { Job, JobDelivery, JobError, JobStatus } from './job';

export type StartRunOutcome =
  | { job: Job }
  /** Already ended; carries its result only when a delivery is still owed. */
  | { ended: Job }
  | { busy: Job }
  /** Its run started (the service may have been called), the lease passed, and no outcome was recorded. */
  | { interrupted: Job & { callStartedAt: string } }
  | { missing: true };

export interface JobListQuery {
  connectorId?: string;
  status?: JobStatus;
  limit: number;
  /** A page key returned by the previous page (`nextKey`), checked by the caller. */
  startKey?: Record<string, string>;
}

export type RetryOutcome = { job: Job; previous: Job } | { missing: true } | { notRetryable: Job };

export type IdempotencyClaim = { claimed: true } | { claimed: false; jobId: string; requestHash: string };

/**
 * Port: where jobs and idempotency keys are kept (adapter: adapters/job-store.ts,
 * DynamoDB; in memory for unit tests: test/support/memory-ports.ts). Every
 * transition is one conditional write; a write whose condition does not hold
 * (the job is not in the state it requires, or does not exist) rejects with
 * `WriteConflictError` (shared/errors.ts) unless its result says otherwise.
 */
export interface JobRepository {
  /** Rejects with WriteConflictError when the job exists already. */
  create(job: Job): Promise<void>;
  /** The job with its payload and result (or only the `parts` asked for), wherever they are kept. */
  get(jobId: string, parts?: { payload: boolean; result: boolean }): Promise<Job | undefined>;
  /**
   * Marks the job RUNNING for one worker until `leaseUntil`, with `callStartedAt`
   * (from here on the service may have been called); see adapters/job-store.ts.
   */
  startRun(jobId: string, leaseUntil: Date): Promise<StartRunOutcome>;
  /** Gives a run back before anything was called, so a redelivery may start at once. */
  releaseRun(jobId: string): Promise<void>;
  /** A retry was handed back to the queue: keep the count and the last error visible while it waits. */
  recordDeferredRetry(jobId: string, attempts: number, lastError: JobError, nextAttemptAt: Date): Promise<void>;
  /** The job waits for its connector's limits: the run is given back. Returns how many times it has waited, and since when. */
  recordWait(
    jobId: string,
    attempts: number,
    waiting: NonNullable<Job['waiting']>,
  ): Promise<{ waits: number; waitingSince: string }>;
  /** Returns the ended job (with its result) only when `delivery` is given. */
  succeed(jobId: string, attempts: number, result: ResultEnvelope, delivery?: JobDelivery): Promise<Job | undefined>;
  fail(jobId: string, attempts: number, error: JobError, delivery?: JobDelivery): Promise<Job | undefined>;
  /** Ends an interrupted run as FAILED only if it is still that run; `false` when another message did it first. */
  failInterrupted(
    job: Job & { callStartedAt: string },
    attempts: number,
    error: JobError,
    delivery?: JobDelivery,
  ): Promise<Job | undefined | false>;
  /** Records the delivery's progress; the job's own status and result are untouched. */
  setDelivery(jobId: string, delivery: JobDelivery): Promise<void>;
  /** Jobs newest first by connector and/or status (list fields only); `nextKey` is passed back as `startKey`. */
  list(query: JobListQuery): Promise<{ jobs: Job[]; nextKey?: Record<string, string> }>;
  /** Puts a FAILED job back to QUEUED for a new run (the ended run goes to `history`). */
  retry(jobId: string): Promise<RetryOutcome>;
  /** Undoes a retry whose message could not be queued (if nothing ran it since). */
  undoRetry(retried: Job, previous: Job): Promise<void>;
  /** Atomically reserves an idempotency key for a new job, or returns the job that already holds it. */
  claimIdempotencyKey(key: string, requestHash: string, jobId: string): Promise<IdempotencyClaim>;
  releaseIdempotencyKey(key: string): Promise<void>;
}

/**
 * Runs a conditional write of a JobRepository and answers `conflicted()` when it
 * rejects with WriteConflictError (its condition did not hold); other errors are thrown on.
 * For the transitions whose result says the condition failed (`false`, `busy`, ...) instead of rejecting.
 */
export async function unlessConflict<T, C>(write: () => Promise<T>, conflicted: () => C | Promise<C>): Promise<T | C> {
  try {
    return await write();
  } catch (err) {
    if (!(err instanceof WriteConflictError)) throw err;
    return conflicted();
  }
}
