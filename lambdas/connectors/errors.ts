/**
 * What went wrong when calling an external service. Wrappers report facts (an
 * HTTP status, a network failure, a protocol fault); `domain/retry-policy.ts`
 * alone decides whether that is worth another attempt.
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

/** The connection failed (DNS, refused, reset) before an answer arrived. */
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

/**
 * The request could not be built (missing secret, missing payload field, bad
 * mapping), so no call was made: never retried, and not counted as an attempt.
 */
export class RequestPreparationError extends UpstreamError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, { cause, transient: false });
  }
}

/**
 * A dependency of the hub itself (SSM, DynamoDB) failed: not the job's fault.
 * The worker lets SQS redeliver the message (and, if it keeps failing, the DLQ keep it).
 */
export class InfrastructureError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InfrastructureError';
  }
}
