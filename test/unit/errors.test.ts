import { toJobError } from '../../lambdas/domain/job';
import { decideRetry, isRetryable } from '../../lambdas/domain/retry-policy';
import {
  AppError,
  ConfigurationError,
  ConflictError,
  FileLinkNotConfiguredError,
  FileQuarantinedError,
  ForbiddenError,
  InfrastructureError,
  InvalidConnectorError,
  InvalidPayloadError,
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  RequestPreparationError,
  RetryLaterError,
  ServiceUnavailableError,
  TargetNotAllowedError,
  UnauthorizedError,
  UpstreamError,
  UpstreamHttpError,
  UpstreamNetworkError,
  UpstreamTimeoutError,
  WriteConflictError,
} from '../../lambdas/shared/errors';
import { errorResponse } from '../../lambdas/shared/responses';

/** The one error module: its taxonomy, and the codes and statuses callers and job records depend on. */

test('a request that was never sent is not an upstream error; the upstream ones are', () => {
  for (const unsent of [
    new RequestPreparationError('SECRET_NOT_FOUND', 'store it'),
    new TargetNotAllowedError('169.254.169.254 is an instance metadata address'),
  ]) {
    expect(unsent).toBeInstanceOf(RequestPreparationError);
    expect(unsent).not.toBeInstanceOf(UpstreamError);
    expect(unsent).not.toBeInstanceOf(AppError);
  }
  for (const upstream of [
    new UpstreamHttpError(503, 'busy'),
    new UpstreamNetworkError('reset'),
    new UpstreamTimeoutError(100),
  ])
    expect(upstream).toBeInstanceOf(UpstreamError);
});

test('caller errors keep their codes and HTTP statuses', () => {
  const table = [
    new InvalidRequestError('m'),
    new InvalidPayloadError('m'),
    new FileLinkNotConfiguredError('m'),
    new UnauthorizedError(),
    new ForbiddenError(),
    new NotFoundError('JOB_NOT_FOUND', 'm'),
    new ConflictError('CONNECTOR_DISABLED', 'm'),
    new FileQuarantinedError('f1'),
    new InvalidConnectorError('c1', 'baseUrl: required'),
    new PayloadTooLargeError('PAYLOAD_TOO_LARGE', 'm'),
    new ServiceUnavailableError('QUEUE_UNAVAILABLE', 'm'),
  ].map((e) => [e.name, e.code, e.httpStatus]);
  expect(table).toEqual([
    ['InvalidRequestError', 'INVALID_REQUEST', 400],
    ['InvalidPayloadError', 'INVALID_PAYLOAD', 400],
    ['FileLinkNotConfiguredError', 'FILE_LINK_NOT_CONFIGURED', 400],
    ['UnauthorizedError', 'UNAUTHORIZED', 401],
    ['ForbiddenError', 'FORBIDDEN', 403],
    ['NotFoundError', 'JOB_NOT_FOUND', 404],
    ['ConflictError', 'CONNECTOR_DISABLED', 409],
    ['FileQuarantinedError', 'FILE_QUARANTINED', 409],
    ['InvalidConnectorError', 'CONNECTOR_INVALID', 409],
    ['PayloadTooLargeError', 'PAYLOAD_TOO_LARGE', 413],
    ['ServiceUnavailableError', 'QUEUE_UNAVAILABLE', 503],
  ]);
});

test('upstream and unsent errors keep their codes; internal ones are named and keep their cause', () => {
  expect(
    [
      new UpstreamHttpError(502, 'm'),
      new UpstreamNetworkError('m'),
      new UpstreamTimeoutError(5),
      new TargetNotAllowedError('m'),
    ].map((e) => e.code),
  ).toEqual(['UPSTREAM_HTTP_ERROR', 'UPSTREAM_NETWORK_ERROR', 'UPSTREAM_TIMEOUT', 'TARGET_NOT_ALLOWED']);
  const cause = new Error('root');
  for (const e of [
    new InfrastructureError('m', { cause }),
    new WriteConflictError('m', { cause }),
    new RetryLaterError('m', { cause }),
    new RequestPreparationError('X', 'm', cause),
    new UpstreamNetworkError('m', cause),
  ]) {
    expect(e.cause).toBe(cause);
  }
  expect(
    [
      new InfrastructureError('m'),
      new WriteConflictError('m'),
      new ConfigurationError('m'),
      new RetryLaterError('m'),
    ].map((e) => e.name),
  ).toEqual(['InfrastructureError', 'WriteConflictError', 'ConfigurationError', 'RetryLaterError']);
});

test('the one mapping to job errors: upstream keeps status and retryability, unsent and caller errors are final, anything else says WORKER_ERROR', () => {
  expect(toJobError(new UpstreamHttpError(503, 'busy'))).toEqual({
    code: 'UPSTREAM_HTTP_ERROR',
    message: 'busy',
    retryable: true,
    statusCode: 503,
  });
  expect(toJobError(new UpstreamHttpError(400, 'bad'))).toEqual({
    code: 'UPSTREAM_HTTP_ERROR',
    message: 'bad',
    retryable: false,
    statusCode: 400,
  });
  expect(toJobError(new RequestPreparationError('SECRET_NOT_FOUND', 'store it'))).toEqual({
    code: 'SECRET_NOT_FOUND',
    message: 'store it',
    retryable: false,
  });
  expect(toJobError(new TargetNotAllowedError('no'))).toEqual({
    code: 'TARGET_NOT_ALLOWED',
    message: 'no',
    retryable: false,
  });
  expect(toJobError(new InvalidConnectorError('c1', 'x'))).toMatchObject({
    code: 'CONNECTOR_INVALID',
    retryable: false,
  });
  for (const internal of [new InfrastructureError('SSM down'), new WriteConflictError('lost'), new Error('bug')]) {
    expect(toJobError(internal)).toEqual({
      code: 'WORKER_ERROR',
      message: 'The worker failed while running this job; see the worker logs',
      retryable: false,
    });
  }
});

test('the retry policy never retries an unsent request', () => {
  const unsent = new RequestPreparationError('INVALID_PAYLOAD', 'needs a channel');
  expect(isRetryable(unsent)).toBe(false);
  expect(decideRetry(unsent, 1, { maxAttempts: 5, baseDelayMs: 100 })).toEqual({ retryable: false });
});

test('the one mapping to HTTP: 4xx shows its code and message; anything not a caller error is a 500 without details', () => {
  const logger = { error: jest.fn() };
  const shown = errorResponse(new ConflictError('JOB_NOT_RETRYABLE', 'only FAILED'), logger);
  expect([shown.statusCode, JSON.parse(shown.body)]).toEqual([
    409,
    { error: { code: 'JOB_NOT_RETRYABLE', message: 'only FAILED' } },
  ]);
  for (const hidden of [
    new RequestPreparationError('SECRET_NOT_FOUND', 'the secret /x/y'),
    new UpstreamHttpError(500, 'upstream said secret'),
    new WriteConflictError('lost'),
  ]) {
    const res = errorResponse(hidden, logger, 'req-1');
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'INTERNAL_ERROR', requestId: 'req-1' });
    expect(res.body).not.toContain(hidden.message);
  }
});
