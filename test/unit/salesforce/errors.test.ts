import { checkComposite, errorItems, salesforceApiError } from '../../../lambdas/connectors/salesforce/client';
import { isRetryable } from '../../../lambdas/domain/retry-policy';
import { UpstreamError } from '../../../lambdas/shared/errors';

test('an error array becomes UPSTREAM_SALESFORCE_ERROR with errorCode, message and fields in the message', () => {
  const err = salesforceApiError(
    errorItems([
      { errorCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [Name]', fields: ['Name'] },
    ]),
    400,
  );
  expect(err).toBeInstanceOf(UpstreamError);
  expect(err.code).toBe('UPSTREAM_SALESFORCE_ERROR');
  expect(err.statusCode).toBe(400);
  expect(err.message).toBe(
    'Salesforce answered HTTP 400: REQUIRED_FIELD_MISSING: Required fields are missing: [Name] (fields: Name)',
  );
  expect(isRetryable(err)).toBe(false);
});

test.each([
  ['UNABLE_TO_LOCK_ROW', 400, true],
  ['REQUEST_LIMIT_EXCEEDED', 403, true],
  ['SERVER_UNAVAILABLE', 503, true],
  ['UNKNOWN_EXCEPTION', 500, true],
  ['INVALID_FIELD', 400, false],
  ['INSUFFICIENT_ACCESS_OR_READONLY', 403, false],
  ['NOT_FOUND', 404, false],
  ['INVALID_SESSION_ID', 401, false],
])('%s (HTTP %i) retryable: %s', (errorCode, status, retryable) => {
  expect(isRetryable(salesforceApiError([{ errorCode, message: 'x' }], status))).toBe(retryable);
});

test('REQUEST_LIMIT_EXCEEDED: the 24-hour limit is SALESFORCE_API_LIMIT and final, the concurrency limits are retryable', () => {
  const daily = salesforceApiError(
    [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }],
    403,
  );
  expect(daily).toMatchObject({ code: 'SALESFORCE_API_LIMIT', statusCode: 403 });
  expect(isRetryable(daily)).toBe(false);
  for (const message of [
    'ConcurrentRequests (Concurrent API Requests) Limit exceeded.',
    'ConcurrentPerOrgLongTxn Limit exceeded.',
  ]) {
    const concurrent = salesforceApiError([{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message }], 403);
    expect(concurrent).toMatchObject({ code: 'UPSTREAM_SALESFORCE_ERROR' });
    expect(isRetryable(concurrent)).toBe(true);
  }
});

test('several errors are all reported; a lock error among them makes the whole retryable', () => {
  const err = salesforceApiError(
    errorItems([
      { errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Amount must be positive', fields: ['Amount'] },
      { errorCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record' },
    ]),
    400,
    2000,
  );
  expect(err.message).toContain(
    'FIELD_CUSTOM_VALIDATION_EXCEPTION: Amount must be positive (fields: Amount); UNABLE_TO_LOCK_ROW',
  );
  expect(err.details).toMatchObject({ transient: true, retryAfterMs: 2000 });
});

test('errorItems accepts one object or an array and ignores what is not an error', () => {
  expect(errorItems({ errorCode: 'X', message: 'm', fields: [] })).toEqual([{ errorCode: 'X', message: 'm' }]);
  expect(errorItems(['text', null, { message: 'only a message' }])).toEqual([
    { errorCode: 'UNKNOWN_ERROR', message: 'only a message' },
  ]);
  expect(errorItems('html page')).toEqual([]);
});

test('a failed allOrNone Composite reports the subrequest that caused it, not the halted ones', () => {
  const answer = {
    compositeResponse: [
      { referenceId: 'acct', httpStatusCode: 400, body: [{ errorCode: 'PROCESSING_HALTED', message: 'rolled back' }] },
      { referenceId: 'opp', httpStatusCode: 400, body: [{ errorCode: 'UNABLE_TO_LOCK_ROW', message: 'locked' }] },
    ],
  };
  let thrown: unknown;
  try {
    checkComposite(answer);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(UpstreamError);
  expect((thrown as UpstreamError).message).toBe(
    'Salesforce answered HTTP 400 for subrequest opp: UNABLE_TO_LOCK_ROW: locked',
  );
  expect(isRetryable(thrown)).toBe(true);
  expect(() =>
    checkComposite({ compositeResponse: [{ referenceId: 'a', httpStatusCode: 201, body: { id: '1' } }] }),
  ).not.toThrow();
});
