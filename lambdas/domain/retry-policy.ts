import { UpstreamError } from '../shared/errors';

/**
 * The one retry policy for every wrapper: network errors, timeouts, 408, 429
 * and 5xx are retried with exponential backoff and jitter (honouring the
 * service's Retry-After); everything else fails at once.
 */
export interface RetryDecision {
  retryable: boolean;
  /** Present when retryable: how long to wait before the next attempt. */
  delayMs?: number;
}

export interface RetrySettings {
  maxAttempts: number;
  baseDelayMs: number;
}

/** Longest wait we accept from Retry-After or backoff: SQS cannot hide a message for longer than 12 h, and a job waiting that long is better failed. */
export const MAX_RETRY_DELAY_MS = 15 * 60 * 1000;

export function isRetryable(err: unknown): boolean {
  if (!(err instanceof UpstreamError)) return false;
  if (err.details.transient !== undefined) return err.details.transient;
  const status = err.statusCode;
  if (status === undefined) return err.code === 'UPSTREAM_NETWORK_ERROR' || err.code === 'UPSTREAM_TIMEOUT';
  return status === 408 || status === 429 || status >= 500;
}

/** Exponential backoff with "equal jitter": never shorter than half the step, never longer than the step. */
export function backoffDelayMs(attempt: number, baseDelayMs: number, random: () => number = Math.random): number {
  const step = Math.min(MAX_RETRY_DELAY_MS, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** Decide after `attempts` calls have been made and the last one failed with `err`. */
export function decideRetry(
  err: unknown,
  attempts: number,
  settings: RetrySettings,
  random: () => number = Math.random,
): RetryDecision {
  if (!isRetryable(err) || attempts >= settings.maxAttempts) return { retryable: false };
  const retryAfterMs = err instanceof UpstreamError ? err.details.retryAfterMs : undefined;
  const delayMs =
    retryAfterMs !== undefined
      ? Math.min(retryAfterMs, MAX_RETRY_DELAY_MS)
      : backoffDelayMs(attempts, settings.baseDelayMs, random);
  return { retryable: true, delayMs };
}
