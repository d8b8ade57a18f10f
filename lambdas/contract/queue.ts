/**
 * The job queue and its worker: the numbers the stack (lib/constructs/job-queue.ts,
 * lib/config.ts), the local hub (local/hub.ts, local/start.ts) and the worker
 * must agree on, and the events that reach the queue from outside.
 */

/** The largest retry.maxAttempts a connector may set (lambdas/connectors/common.ts). */
export const MAX_CONNECTOR_ATTEMPTS = 10;

/**
 * The most receives a healthy job's message can need while still retrying
 * (lambdas/domain/job-runner.ts): the first receive makes call attempt 1; each
 * deferred retry (ChangeMessageVisibility) is one more receive, at most
 * retry.maxAttempts - 1 of them for the call; the last call attempt and the first
 * delivery attempt share a receive, and each deferred delivery retry (the target
 * connector's retry.maxAttempts - 1 at most) is one more. Inline retries (short
 * waits) use no receive. 1 + 9 + 9 = 19.
 */
export const WORST_CASE_RECEIVES = 1 + (MAX_CONNECTOR_ATTEMPTS - 1) + (MAX_CONNECTOR_ATTEMPTS - 1);

/**
 * Receives a message may not spend on retries: redeliveries after a worker crash
 * or timeout, or an infrastructure (DynamoDB, SSM, SQS) failure, which retry the
 * same attempt without counting it.
 */
export const CRASH_MARGIN_RECEIVES = 6;

/** Default redrive maxReceiveCount: the worst case of a healthy job plus the crash margin (25). */
export const DEFAULT_MAX_RECEIVE_COUNT = WORST_CASE_RECEIVES + CRASH_MARGIN_RECEIVES;
/** SQS's largest maxReceiveCount. */
export const MAX_MAX_RECEIVE_COUNT = 1000;

/** Why maxReceiveCount has a floor, for error messages (synth-time checks). */
export const MAX_RECEIVE_COUNT_RULE =
  `must be an integer from ${WORST_CASE_RECEIVES} to ${MAX_MAX_RECEIVE_COUNT}: a job still retrying can need ${WORST_CASE_RECEIVES} receives ` +
  `(1 + ${MAX_CONNECTOR_ATTEMPTS - 1} deferred retries of its call + ${MAX_CONNECTOR_ATTEMPTS - 1} deferred retries of its Salesforce delivery, ` +
  `at the largest retry.maxAttempts ${MAX_CONNECTOR_ATTEMPTS}), so a lower count sends healthy jobs to the dead-letter queue; ` +
  `the default ${DEFAULT_MAX_RECEIVE_COUNT} also leaves ${CRASH_MARGIN_RECEIVES} receives for worker crashes and timeouts`;

/** Whether a redrive maxReceiveCount leaves a healthy job all its receives. */
export function validMaxReceiveCount(n: number): boolean {
  return Number.isInteger(n) && n >= WORST_CASE_RECEIVES && n <= MAX_MAX_RECEIVE_COUNT;
}

/**
 * The worker's concurrency cap (the SQS event source's maximum concurrency: jobs,
 * so external calls, in flight). Salesforce allows 25 concurrent long-running API
 * requests per org; the event source accepts 2 to 1000.
 */
export const WORKER_CONCURRENCY = { default: 25, min: 2, max: 1000 } as const;

/** Worker timeout in seconds: Lambda allows up to 900, and 6 x 900 s stays under SQS's 12-hour visibility limit. */
export const WORKER_TIMEOUT_SECONDS = { default: 60, min: 1, max: 900 } as const;

/** Records per worker invocation: one record is one external call, so 1 keeps the cap equal to calls in flight. */
export const WORKER_BATCH_SIZE = { default: 1, min: 1, max: 10 } as const;

/**
 * AWS's guidance for Lambda consumers: a visibility timeout of at least 6 times
 * the function timeout, so retries of a throttled or slow batch do not make a
 * message visible while it is still running.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** The job queue's visibility timeout (seconds) for a worker timeout (seconds). */
export function visibilityTimeoutSeconds(workerTimeoutSeconds: number): number {
  return Math.ceil(workerTimeoutSeconds * VISIBILITY_TIMEOUT_FACTOR);
}

/** How long failed messages wait in the dead-letter queue: SQS's maximum retention. */
export const DEAD_LETTER_RETENTION_DAYS = 14;

/**
 * GuardDuty Malware Protection's scan result event, which an EventBridge rule
 * (lib/constructs/file-store.ts) delivers unchanged to the job queue and the
 * worker (lambdas/files/scan-result.ts) or the local scanner (local/scanner.ts) reads.
 */
export const SCAN_RESULT_EVENT = {
  source: 'aws.guardduty',
  detailType: 'GuardDuty Malware Protection Object Scan Result',
} as const;
