import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ForbiddenError, UnauthorizedError, type AppError } from '../lambdas/shared/errors';

/**
 * Stands in for API Gateway in front of the controller Lambda: turns HTTP
 * requests into REST API (v1) proxy events and checks the API key as API
 * Gateway would (`x-api-key`; /v1/health is open).
 */
const MAX_GATEWAY_BODY = 10 * 1024 * 1024; // API Gateway's own payload limit
const OPEN_ROUTES = new Set(['/v1/health', '/v1/health/']);

type Handler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

function send(
  res: import('node:http').ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function keyMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function toEvent(req: IncomingMessage, body: Buffer, requestId: string): APIGatewayProxyEvent {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  // Null-prototype maps: a header or query parameter named `constructor` or `__proto__` is an own key, not Object.prototype's.
  const headers: Record<string, string> = Object.create(null);
  const multiValueHeaders: Record<string, string[]> = Object.create(null);
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = Object.create(null);
  const multiQuery: Record<string, string[]> = Object.create(null);
  url.searchParams.forEach((value, key) => {
    query[key] = value;
    (multiQuery[key] ??= []).push(value);
  });
  return {
    resource: '/{proxy+}',
    path: url.pathname,
    httpMethod: req.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length ? multiQuery : null,
    pathParameters: { proxy: url.pathname.slice(1) },
    stageVariables: null,
    body: body.length ? body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: req.method ?? 'GET',
      identity: {
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      } as APIGatewayProxyEvent['requestContext']['identity'],
      path: url.pathname,
      stage: 'local',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: '/{proxy+}',
    },
  };
}

/**
 * Runs at most `limit` calls at once; the others wait their turn, first come
 * first served. A finished call hands its place straight to the next waiter.
 */
export function concurrencyLimit(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  if (!Number.isInteger(limit) || limit < 1)
    throw new Error(`concurrency limit must be a positive integer, got ${limit}`);
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (fn) => {
    if (active < limit) active += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  };
}

export interface GatewayOptions {
  /**
   * Controller invocations run at once; later requests wait in the gateway.
   * All of them share one thread, so more at once add no throughput: each
   * would only take longer, and together they would flood the DynamoDB and SQS
   * emulators that the worker's jobs in flight are waiting on.
   * @default unlimited
   */
  maxConcurrency?: number;
}

export function createApiGateway(handler: Handler, apiKey: string, options: GatewayOptions = {}): Server {
  const limit =
    options.maxConcurrency === undefined ? <T>(fn: () => Promise<T>) => fn() : concurrencyLimit(options.maxConcurrency);
  return createServer((req, res) => {
    const requestId = randomUUID();
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_GATEWAY_BODY) tooLarge = true;
      else chunks.push(c);
    });
    const respond = async () => {
      if (tooLarge)
        return send(res, 413, {
          error: { code: 'PAYLOAD_TOO_LARGE', message: 'Request bodies are limited to 10 MB by API Gateway' },
        });
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      if (!OPEN_ROUTES.has(path)) {
        const given = req.headers['x-api-key'];
        const refused: AppError | undefined =
          typeof given !== 'string' || given === ''
            ? new UnauthorizedError()
            : !keyMatches(given, apiKey)
              ? new ForbiddenError()
              : undefined;
        if (refused) return send(res, refused.httpStatus, { error: { code: refused.code, message: refused.message } });
      }
      try {
        const result = await limit(() => handler(toEvent(req, Buffer.concat(chunks), requestId)));
        const headers: Record<string, string> = { 'x-amzn-requestid': requestId };
        for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
        res.writeHead(result.statusCode, headers);
        res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
      } catch {
        // What API Gateway answers when the integration itself fails.
        send(res, 502, { error: { code: 'INTERNAL_ERROR', message: 'Internal server error' } });
      }
    };
    // Before the handler only the URL can fail (`GET //[`): a 400, not an unhandled rejection that stops the hub.
    req.on('end', () => {
      respond().catch(() =>
        send(res, 400, { error: { code: 'INVALID_REQUEST', message: 'The request URL is malformed' } }),
      );
    });
  });
}
