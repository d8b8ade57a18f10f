/**
 * The job transitions operators see (one log line each, and metrics), as a
 * port: domain code reports them here, lambdas/adapters/job-events.ts writes them.
 * Only identifiers, counts, times and status codes: never payloads, results or secrets.
 */
import type { WaitReason } from './connector-limits';

export interface JobRef {
  jobId: string;
  connectorId: string;
  operation: string;
  correlationId?: string;
  /** W3C trace id of the job's trace, when it has one. */
  traceId?: string;
}

export interface JobEvents {
  /** The controller recorded and queued the job. */
  accepted(job: JobRef): void;
  /** A worker starts a run; `queueWaitMs` on the first run only (accepted -> started). */
  started(job: JobRef & { attempt: number; queueWaitMs?: number }): void;
  /** One call failed; `retryInMs` is the plan (absent: no retry, the job fails). */
  attemptFailed(
    job: JobRef & {
      attempt: number;
      durationMs: number;
      code: string;
      statusCode?: number;
      retryInMs?: number;
      retryBy?: 'inline' | 'queue';
    },
  ): void;
  /** The job waits for a limit or an open circuit (no attempt used). */
  waiting(job: JobRef & { attempt: number; reason: WaitReason; until?: string }): void;
  succeeded(job: JobRef & { attempt: number; durationMs: number; statusCode?: number }): void;
  failed(job: JobRef & { attempt: number; durationMs?: number; code: string; statusCode?: number }): void;
  /** The message's last receive failed: SQS moves it to the dead-letter queue. */
  deadLettered(job: Partial<JobRef> & { jobId: string; receiveCount: number }): void;
  delivered(job: JobRef & { attempt: number; durationMs: number }): void;
  deliveryFailed(
    job: JobRef & { attempt: number; durationMs: number; code: string; statusCode?: number; retryInMs?: number },
  ): void;
}

const nothing = () => undefined;
/** For callers that report nothing (tests, tools). */
export const noJobEvents: JobEvents = {
  accepted: nothing,
  started: nothing,
  attemptFailed: nothing,
  waiting: nothing,
  succeeded: nothing,
  failed: nothing,
  deadLettered: nothing,
  delivered: nothing,
  deliveryFailed: nothing,
};
