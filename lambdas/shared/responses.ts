import type { APIGatewayProxyResult } from 'aws-lambda';
import { AppError } from './errors';

export interface ErrorBody {
  error: { code: string; message: string; requestId?: string };
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: body === undefined ? '' : JSON.stringify(body) };
}

interface ErrorLogger {
  error(message: string, ...extra: unknown[]): void;
}

/**
 * The single mapping from errors to HTTP responses. 4xx AppErrors carry their
 * own message; anything else becomes a 5xx with a generic message and a
 * request id to quote, and is logged (never returned: no stack traces, no secrets).
 */
export function errorResponse(err: unknown, logger: ErrorLogger, requestId?: string): APIGatewayProxyResult {
  if (err instanceof AppError && err.httpStatus < 500) {
    return json(err.httpStatus, { error: { code: err.code, message: err.message } } satisfies ErrorBody);
  }
  logger.error('request failed', { error: err });
  if (err instanceof AppError) {
    return json(err.httpStatus, { error: { code: err.code, message: err.message, requestId } } satisfies ErrorBody);
  }
  return json(500, {
    error: {
      code: 'INTERNAL_ERROR',
      message: 'The hub failed to handle the request; retry later or quote the requestId to the hub operator',
      requestId,
    },
  } satisfies ErrorBody);
}
