/**
 * Every error class of the hub, in one taxonomy (importable from every layer):
 *
 * - caller errors (`AppError`): the request cannot be served as asked; a stable
 *   `code` and an HTTP status, mapped to a response in one place (`shared/responses.ts`,
 *   only 4xx messages are shown to callers);
 * - upstream errors (`UpstreamError`): the external service was called and failed
 *   (an HTTP status, a network failure, a protocol fault); `domain/retry-policy.ts`
 *   alone decides whether that is worth another attempt;
 * - not sent (`RequestPreparationError`): the call could not be built, so nothing
 *   reached the service: never retried, counted as no attempt, not an upstream failure;
 * - internal: our own infrastructure or configuration (`InfrastructureError`,
 *   `WriteConflictError`, `ConfigurationError`), and the worker's queue signal
 *   `RetryLaterError`. A caller sees them only as a 500 with a request id.
 *
 * How an error is recorded on a job (code, retryable, status) is `toJobError`
 * in `domain/job.ts`. Codes and statuses are part of the API: never change them.
 */

type Options = { cause?: unknown };

// ---- caller errors ------------------------------------------------------------

/** An error a caller can act on: a stable `code` and the HTTP status it is answered with. */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number,
    options?: Options,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidRequestError extends AppError {
  constructor(message: string, options?: Options) {
    super('INVALID_REQUEST', message, 400, options);
  }
}

/** A body the hub cannot accept as data: an unstorable number, a forbidden key, too deep (http/json-input.ts). */
export class InvalidPayloadError extends AppError {
  constructor(message: string) {
    super('INVALID_PAYLOAD', message, 400);
  }
}

/** A file link names a connector that cannot create link records. */
export class FileLinkNotConfiguredError extends AppError {
  constructor(message: string) {
    super('FILE_LINK_NOT_CONFIGURED', message, 400);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Missing API key: send it in the x-api-key header') {
    super('UNAUTHORIZED', message, 401);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'The API key is not valid for this hub') {
    super('FORBIDDEN', message, 403);
  }
}

export class NotFoundError extends AppError {
  constructor(
    code: 'CONNECTOR_NOT_FOUND' | 'OPERATION_NOT_FOUND' | 'JOB_NOT_FOUND' | 'FILE_NOT_FOUND' | 'ROUTE_NOT_FOUND',
    message: string,
  ) {
    super(code, message, 404);
  }
}

export class ConflictError extends AppError {
  constructor(
    code:
      'CONNECTOR_DISABLED' | 'IDEMPOTENCY_KEY_REUSED' | 'SIZE_MISMATCH' | 'FILE_NOT_AVAILABLE' | 'JOB_NOT_RETRYABLE',
    message: string,
  ) {
    super(code, message, 409);
  }
}

/** A file the malware scan found a threat in. */
export class FileQuarantinedError extends AppError {
  constructor(fileId: string) {
    super(
      'FILE_QUARANTINED',
      `File "${fileId}" is quarantined: the malware scan found a threat in it, so it cannot be downloaded; delete it`,
      409,
    );
  }
}

/** A connector row in the table that does not match the schema (an admin must fix the row). */
export class InvalidConnectorError extends AppError {
  constructor(connectorId: string, detail: string) {
    super(
      'CONNECTOR_INVALID',
      `Connector "${connectorId}" is stored with an invalid configuration: ${detail}. Fix the row with "crm-bridge connectors validate" and put it again.`,
      409,
    );
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(code: 'PAYLOAD_TOO_LARGE' | 'FILE_TOO_LARGE', message: string) {
    super(code, message, 413);
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(code: string, message: string, options?: Options) {
    super(code, message, 503, options);
  }
}

// ---- upstream errors ----------------------------------------------------------

/**
 * The external service was called and the call failed. Wrappers report facts
 * (an HTTP status, a network failure, a protocol fault); `domain/retry-policy.ts`
 * decides what is retried.
 */
export class UpstreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: {
      statusCode?: number;
      /** Delay the service asked for (Retry-After), in ms. */
      retryAfterMs?: number;
      /** Set by protocols whose faults say it themselves (SOAP server fault, Salesforce lock errors). */
      transient?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: details.cause });
    this.name = new.target.name;
  }
  get statusCode(): number | undefined {
    return this.details.statusCode;
  }
}

/** The service answered with a non-2xx HTTP status. */
export class UpstreamHttpError extends UpstreamError {
  constructor(statusCode: number, message: string, retryAfterMs?: number, code = 'UPSTREAM_HTTP_ERROR') {
    super(code, message, { statusCode, retryAfterMs });
  }
}

/** The connection failed (DNS, refused, reset) before an answer arrived, or the answer broke off. */
export class UpstreamNetworkError extends UpstreamError {
  constructor(message: string, cause?: unknown) {
    super('UPSTREAM_NETWORK_ERROR', message, { cause });
  }
}

export class UpstreamTimeoutError extends UpstreamError {
  constructor(timeoutMs: number) {
    super('UPSTREAM_TIMEOUT', `The service did not answer within ${timeoutMs} ms (connector timeoutMs)`);
  }
}

// ---- not sent -----------------------------------------------------------------

/**
 * The request could not be built (missing secret, missing payload field, bad
 * mapping, a refused target), so no call was made: never retried, not counted
 * as an attempt, and nothing the connector's breaker should hear of. Not an
 * UpstreamError: the service had no part in it.
 */
export class RequestPreparationError extends Error {
  constructor(
    readonly code: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = new.target.name;
  }
}

/** A target the SSRF rules refuse (connectors/targets.ts): the job fails with TARGET_NOT_ALLOWED, nothing sent. */
export class TargetNotAllowedError extends RequestPreparationError {
  constructor(message: string) {
    super('TARGET_NOT_ALLOWED', message);
  }
}

// ---- internal -----------------------------------------------------------------

/**
 * A dependency of the hub itself (SSM, DynamoDB) failed: not the job's fault.
 * The worker lets SQS redeliver the message (and, if it keeps failing, the DLQ keep it).
 */
export class InfrastructureError extends Error {
  constructor(message: string, options?: Options) {
    super(message, options);
    this.name = 'InfrastructureError';
  }
}

/**
 * A conditional write found its record not in the state it requires (another
 * writer got there first, or the record does not exist). Adapters map their
 * store's own signal (DynamoDB's ConditionalCheckFailedException) to it, so the
 * domain decides what a lost race means without knowing the store.
 */
export class WriteConflictError extends Error {
  constructor(message: string, options?: Options) {
    super(message, options);
    this.name = 'WriteConflictError';
  }
}

/** A missing or malformed environment variable (shared/env.ts): the cold start stops, naming it. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** The service answered, but its body broke off (the connection dropped, a broken encoding); connectors/http.ts makes it an UpstreamNetworkError. */
export class AnswerBrokenError extends Error {
  constructor(cause: unknown) {
    super('the answer broke off', { cause });
    this.name = 'AnswerBrokenError';
  }
}

/** Thrown for a queue record that must go back to SQS (reported as a batch item failure), e.g. a deferred retry. */
export class RetryLaterError extends Error {
  constructor(message: string, options?: Options) {
    super(message, options);
    this.name = 'RetryLaterError';
  }
}
