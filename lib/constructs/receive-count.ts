/**
 * How many SQS receives a job's message may need: the floor and default of the job
 * queue's redrive maxReceiveCount. No CDK imports, so lib/config.ts can check the
 * context value without loading the constructs.
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

/** Why maxReceiveCount has a floor, for error messages (synth-time checks). */
export const MAX_RECEIVE_COUNT_RULE =
  `must be an integer from ${WORST_CASE_RECEIVES} to 1000: a job still retrying can need ${WORST_CASE_RECEIVES} receives ` +
  `(1 + ${MAX_CONNECTOR_ATTEMPTS - 1} deferred retries of its call + ${MAX_CONNECTOR_ATTEMPTS - 1} deferred retries of its Salesforce delivery, ` +
  `at the largest retry.maxAttempts ${MAX_CONNECTOR_ATTEMPTS}), so a lower count sends healthy jobs to the dead-letter queue; ` +
  `the default ${DEFAULT_MAX_RECEIVE_COUNT} also leaves ${CRASH_MARGIN_RECEIVES} receives for worker crashes and timeouts`;
