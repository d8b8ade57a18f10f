/**
 * Errors a caller can act on. Each has a stable `code`; the HTTP mapping lives in
 * one place (`shared/http.ts`), and only 4xx messages are ever shown to callers.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidRequestError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_REQUEST', message, 400, options);
  }
}

/** A body the hub cannot accept as data: an unstorable number, a forbidden key, too deep (http/json-input.ts). */
export class InvalidPayloadError extends AppError {
  constructor(message: string) {
    super('INVALID_PAYLOAD', message, 400);
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
  constructor(code: 'CONNECTOR_NOT_FOUND' | 'OPERATION_NOT_FOUND' | 'JOB_NOT_FOUND' | 'FILE_NOT_FOUND' | 'ROUTE_NOT_FOUND', message: string) {
    super(code, message, 404);
  }
}

export class ConflictError extends AppError {
  constructor(code: 'CONNECTOR_DISABLED' | 'IDEMPOTENCY_KEY_REUSED' | 'SIZE_MISMATCH' | 'FILE_NOT_AVAILABLE' | 'JOB_NOT_RETRYABLE', message: string) {
    super(code, message, 409);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(code: 'PAYLOAD_TOO_LARGE' | 'FILE_TOO_LARGE', message: string) {
    super(code, message, 413);
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, 503, options);
  }
}

/** A connector row in the table that does not match the schema (an admin must fix the row). */
export class InvalidConnectorError extends AppError {
  constructor(connectorId: string, detail: string) {
    super('CONNECTOR_INVALID', `Connector "${connectorId}" is stored with an invalid configuration: ${detail}. Fix the row with "crm-bridge connectors validate" and put it again.`, 409);
  }
}

/**
 * A conditional write found its record not in the state it requires (another
 * writer got there first, or the record does not exist). Adapters map their
 * store's own signal (DynamoDB's ConditionalCheckFailedException) to it, so the
 * domain decides what a lost race means without knowing the store. Internal:
 * never shown to a caller (a 500 if it ever reached the edge).
 */
export class WriteConflictError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WriteConflictError';
  }
}
