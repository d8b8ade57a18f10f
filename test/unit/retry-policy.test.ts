import { backoffDelayMs, decideRetry, isRetryable, MAX_RETRY_DELAY_MS } from '../../lambdas/domain/retry-policy';
import {
  RequestPreparationError,
  UpstreamError,
  UpstreamHttpError,
  UpstreamNetworkError,
  UpstreamTimeoutError,
} from '../../lambdas/shared/errors';

const settings = { maxAttempts: 3, baseDelayMs: 200 };

describe('isRetryable', () => {
  test.each([408, 429, 500, 502, 503, 504])('HTTP %i is retryable', (status) => {
    expect(isRetryable(new UpstreamHttpError(status, 'x'))).toBe(true);
  });
  test.each([400, 401, 403, 404, 409, 422])('HTTP %i is not', (status) => {
    expect(isRetryable(new UpstreamHttpError(status, 'x'))).toBe(false);
  });
  test('network errors and timeouts are retryable', () => {
    expect(isRetryable(new UpstreamNetworkError('refused'))).toBe(true);
    expect(isRetryable(new UpstreamTimeoutError(1000))).toBe(true);
  });
  test('a protocol fault decides for itself, even against its status', () => {
    expect(isRetryable(new UpstreamError('UPSTREAM_SOAP_FAULT', 'server', { statusCode: 500, transient: false }))).toBe(
      false,
    );
    expect(isRetryable(new UpstreamError('UNABLE_TO_LOCK_ROW', 'lock', { statusCode: 400, transient: true }))).toBe(
      true,
    );
  });
  test('preparation errors and unknown errors are not retryable', () => {
    expect(isRetryable(new RequestPreparationError('MAPPING_FAILED', 'bad'))).toBe(false);
    expect(isRetryable(new Error('bug'))).toBe(false);
  });
});

describe('backoff', () => {
  test('doubles per attempt, jittered within [step/2, step]', () => {
    expect(backoffDelayMs(1, 200, () => 0)).toBe(100);
    expect(backoffDelayMs(1, 200, () => 1)).toBe(200);
    expect(backoffDelayMs(3, 200, () => 0)).toBe(400);
    expect(backoffDelayMs(3, 200, () => 1)).toBe(800);
  });
  test('is capped', () => {
    expect(backoffDelayMs(40, 60_000, () => 1)).toBe(MAX_RETRY_DELAY_MS);
  });
});

describe('decideRetry', () => {
  test('retries a 503 until maxAttempts calls were made', () => {
    const err = new UpstreamHttpError(503, 'busy');
    expect(decideRetry(err, 1, settings, () => 0.5)).toEqual({ retryable: true, delayMs: 150 });
    expect(decideRetry(err, 2, settings, () => 0.5)).toEqual({ retryable: true, delayMs: 300 });
    expect(decideRetry(err, 3, settings, () => 0.5)).toEqual({ retryable: false });
  });
  test('Retry-After wins over backoff, and is capped', () => {
    expect(decideRetry(new UpstreamHttpError(429, 'slow down', 7000), 1, settings)).toEqual({
      retryable: true,
      delayMs: 7000,
    });
    expect(decideRetry(new UpstreamHttpError(429, 'slow down', 10 * 3600_000), 1, settings)).toEqual({
      retryable: true,
      delayMs: MAX_RETRY_DELAY_MS,
    });
  });
  test('a 4xx is never retried', () => {
    expect(decideRetry(new UpstreamHttpError(404, 'gone'), 1, settings)).toEqual({ retryable: false });
  });
});
