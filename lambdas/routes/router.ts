import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import * as z from 'zod';
import { formatIssues } from '../connectors/schema';
import { MAX_PAYLOAD_BYTES } from '../domain/job-data';
import { AppError, InvalidRequestError, NotFoundError, PayloadTooLargeError } from '../shared/errors';
import { checkJsonInput } from './json-input';

export interface RouteRequest {
  params: Record<string, string>;
  query: Record<string, string>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Parsed JSON body (undefined when there is none). */
  body: unknown;
  requestId: string;
}

export interface Route {
  method: string;
  /** e.g. /v1/jobs/{jobId} */
  path: string;
  handler: (req: RouteRequest) => Promise<APIGatewayProxyResult>;
}

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

/**
 * Largest accepted request body: a 5 MB payload (kept in S3 when too large for
 * the job item) with room for the other fields. Under API Gateway's 10 MB and
 * Lambda's 6 MB invocation limit.
 */
export const MAX_BODY_BYTES = MAX_PAYLOAD_BYTES + 64 * 1024;

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { ...route, names, pattern: new RegExp(`^${source}/?$`) };
}

function decodeBody(event: APIGatewayProxyEvent): string | undefined {
  if (event.body === null || event.body === undefined || event.body === '') return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/**
 * A small router over API Gateway REST (v1) proxy events. Routing by the real
 * path (not `event.resource`) lets the same handler run behind one proxy
 * resource, explicit resources, or the local hub.
 */
export class Router {
  private readonly routes: CompiledRoute[];

  constructor(routes: Route[]) {
    this.routes = routes.map(compile);
  }

  async handle(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
    const path = event.path;
    const matches = this.routes.filter((r) => r.pattern.test(path));
    if (matches.length === 0)
      throw new NotFoundError(
        'ROUTE_NOT_FOUND',
        `No API route ${event.httpMethod} ${path}; see the README for the v1 routes`,
      );
    const route = matches.find((r) => r.method === event.httpMethod);
    if (!route) {
      throw new AppError(
        'METHOD_NOT_ALLOWED',
        `${event.httpMethod} is not allowed on ${path}; allowed: ${matches.map((r) => r.method).join(', ')}`,
        405,
      );
    }
    const values = route.pattern.exec(path)!.slice(1);
    // Null-prototype maps: a caller-given name (`constructor`, `__proto__`) is only ever an own key.
    const params: Record<string, string> = Object.create(null);
    route.names.forEach((name, i) => {
      try {
        params[name] = decodeURIComponent(values[i]!);
      } catch {
        throw new InvalidRequestError(
          `Invalid path: the ${name} segment ${JSON.stringify(values[i]!.slice(0, 100))} is not valid percent-encoding`,
        );
      }
    });
    const raw = decodeBody(event);
    if (raw !== undefined && Buffer.byteLength(raw) > MAX_BODY_BYTES) {
      throw new PayloadTooLargeError(
        'PAYLOAD_TOO_LARGE',
        `The request body is ${Buffer.byteLength(raw)} bytes; the limit is ${MAX_BODY_BYTES} bytes. Send large content as a file (POST /v1/files)`,
      );
    }
    let body: unknown;
    if (raw !== undefined) {
      try {
        body = JSON.parse(raw);
      } catch {
        throw new InvalidRequestError('The request body is not valid JSON');
      }
      // Before any route's schema: what is accepted must be storable and safe to copy.
      checkJsonInput(body);
    }
    const headers: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
    const query: Record<string, string> = Object.create(null);
    for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query[k] = v;
    return route.handler({ params, query, headers, body, requestId: event.requestContext?.requestId ?? 'local' });
  }
}

/** Validate with a strict zod schema; failures become 400 INVALID_REQUEST naming each field. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidRequestError(`Invalid ${what}: ${formatIssues(result.error).join('; ')}`);
  return result.data;
}
