import { PassThrough } from 'node:stream';
import type { Connection, HttpRequest, HttpResponse } from 'jsforce/core';
import { parseRetryAfter } from '../retry-after';
import { readBody, send } from '../upstream-http';
import { protectLargeIntegers } from '../json';
import type { HttpFetch } from '../transport';
import type { WrapperDeps } from '../types';
import type { SalesforceConnector } from './schema';
import { resolveCredentials, sessionCache, type SalesforceSession, type SessionCache } from './session';
import { RequestPreparationError, UpstreamError } from '../../shared/errors';

/** jsforce is loaded on first use (its core only: no Bulk/Metadata/Streaming): most jobs never talk to Salesforce. */
const loadJsforce = () => import('jsforce/core');

/** Salesforce errors that go away by themselves (Salesforce's own advice is to retry). */
const TRANSIENT_ERROR_CODES = new Set(['REQUEST_LIMIT_EXCEEDED', 'UNABLE_TO_LOCK_ROW']);

/**
 * REQUEST_LIMIT_EXCEEDED (403) names two limits by its message: "TotalRequests
 * Limit exceeded." is the org's rolling 24-hour API allowance, which a retry
 * minutes later only burns; "ConcurrentRequests (Concurrent API Requests) Limit
 * exceeded." (and ConcurrentPerOrgLongTxn) are concurrency limits that clear
 * as running requests end. Salesforce sends no Retry-After for either.
 */
const isDailyApiLimit = (i: SalesforceErrorItem) =>
  i.errorCode === 'REQUEST_LIMIT_EXCEEDED' && /^TotalRequests\b/i.test(i.message.trim());
const MAX_MESSAGE_CHARS = 1000;

/** One entry of Salesforce's error array: [{"errorCode", "message", "fields"}]. */
export interface SalesforceErrorItem {
  errorCode: string;
  message: string;
  fields?: string[];
}

interface LastResponse {
  status: number;
  retryAfterMs?: number;
}

/**
 * jsforce's HTTP layer, replaced: requests go through the wrapper's fetch with
 * the connector's timeout, transport failures become the standard upstream
 * errors, and nothing is retried behind the one retry policy's back (jsforce's
 * own transport retries 5xx GETs five times). It also keeps the last status,
 * which jsforce's errors do not carry.
 */
class FetchTransport {
  last?: LastResponse;

  constructor(
    private readonly StreamPromise: typeof import('jsforce/core').StreamPromise,
    private readonly fetchFn: HttpFetch,
    private readonly timeoutMs: number,
    private readonly extraHeaders: Record<string, string> = {},
  ) {}

  httpRequest(req: HttpRequest) {
    // jsforce pipes through the returned stream; a REST call only needs the promise.
    return this.StreamPromise.create<HttpResponse>(() => ({ stream: new PassThrough(), promise: this.request(req) }));
  }

  private async request(req: HttpRequest): Promise<HttpResponse> {
    if (req.body !== undefined && typeof req.body !== 'string' && !Buffer.isBuffer(req.body)) {
      throw new UpstreamError('UPSTREAM_SALESFORCE_ERROR', 'Only JSON request bodies are supported', {
        transient: false,
      });
    }
    // fetch computes the length itself; a stale one from jsforce would be fatal.
    const { 'content-length': _length, ...headers } = { ...req.headers, ...this.extraHeaders };
    const response = await send(this.fetchFn, req.url, { method: req.method, headers, body: req.body }, this.timeoutMs);
    const text = await readBody(response, this.timeoutMs, (r) => r.text());
    // jsforce runs JSON.parse on the body: integers beyond 2^53 reach it as strings, digit for digit.
    const body = /[/+]json\b/i.test(response.headers.get('content-type') ?? '') ? protectLargeIntegers(text) : text;
    this.last = { status: response.status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) };
    return { statusCode: response.status, headers: Object.fromEntries(response.headers), body };
  }
}

function asItem(value: unknown): SalesforceErrorItem | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.errorCode !== 'string' && typeof v.message !== 'string') return undefined;
  return {
    errorCode: typeof v.errorCode === 'string' ? v.errorCode : 'UNKNOWN_ERROR',
    message: typeof v.message === 'string' ? v.message : '',
    ...(Array.isArray(v.fields) && v.fields.length > 0 && { fields: v.fields.map(String) }),
  };
}

/** The error items of a Salesforce answer body (an array, or one object). */
export function errorItems(body: unknown): SalesforceErrorItem[] {
  const list = Array.isArray(body) ? body : [body];
  return list.map(asItem).filter((i): i is SalesforceErrorItem => i !== undefined);
}

/**
 * Salesforce's error array as the standard error: code UPSTREAM_SALESFORCE_ERROR,
 * the errorCode(s), message(s) and fields in the message; lock and concurrent
 * request limit errors transient, like any 5xx; the org's 24-hour API limit is
 * SALESFORCE_API_LIMIT, not retried; everything else needs a different request.
 */
export function salesforceApiError(
  items: SalesforceErrorItem[],
  statusCode: number | undefined,
  retryAfterMs?: number,
  subrequest?: string,
): UpstreamError {
  const described = items
    .map((i) => `${i.errorCode}: ${i.message}${i.fields ? ` (fields: ${i.fields.join(', ')})` : ''}`)
    .join('; ');
  const message = `Salesforce answered${statusCode !== undefined ? ` HTTP ${statusCode}` : ''}${subrequest ? ` for subrequest ${subrequest}` : ''}: ${described || 'an error without details'}`;
  const daily = items.some(isDailyApiLimit);
  const transient =
    !daily &&
    (items.some((i) => TRANSIENT_ERROR_CODES.has(i.errorCode)) || (statusCode !== undefined && statusCode >= 500));
  return new UpstreamError(
    daily ? 'SALESFORCE_API_LIMIT' : 'UPSTREAM_SALESFORCE_ERROR',
    message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message,
    {
      statusCode,
      retryAfterMs,
      transient,
    },
  );
}

interface CompositeSubresponse {
  httpStatusCode?: number;
  referenceId?: string;
  body?: unknown;
}

/**
 * With allOrNone, Salesforce answers 200 and rolls everything back when one
 * subrequest fails: that is the job's failure, reported with the subrequest
 * that caused it (the others only say PROCESSING_HALTED).
 */
export function checkComposite(answer: unknown): void {
  const subs = ((answer as { compositeResponse?: CompositeSubresponse[] })?.compositeResponse ?? []).filter(
    (s) => (s.httpStatusCode ?? 0) >= 400,
  );
  if (subs.length === 0) return;
  const cause = subs.find((s) => errorItems(s.body).some((i) => i.errorCode !== 'PROCESSING_HALTED')) ?? subs[0]!;
  throw salesforceApiError(errorItems(cause.body), cause.httpStatusCode, undefined, cause.referenceId ?? '?');
}

interface JsforceError extends Error {
  errorCode?: string;
  data?: unknown;
}

/** Maps whatever a jsforce call threw to the standard upstream errors (a request that was never sent stays one). */
function toUpstreamError(err: unknown, last: LastResponse | undefined): UpstreamError | RequestPreparationError {
  if (err instanceof UpstreamError || err instanceof RequestPreparationError) return err;
  const e = err as JsforceError;
  if (e?.errorCode === 'MULTIPLE_CHOICES') {
    // 300 to an upsert: the external id is on several records; the body lists their URLs. Retrying changes nothing.
    const urls = Array.isArray(e.data) ? e.data.map(String) : [];
    const listed = urls.slice(0, 10).join(', ') + (urls.length > 10 ? `, … (${urls.length} in all)` : '');
    return new UpstreamError(
      'SALESFORCE_MULTIPLE_MATCHES',
      `Salesforce answered HTTP 300: the external id matches ${urls.length || 'several'} records${listed ? `: ${listed}` : ''}`,
      {
        statusCode: 300,
        transient: false,
      },
    );
  }
  if (e && typeof e.errorCode === 'string') {
    // HttpApiError: `data` is the error object, the array (several errors) or the raw body.
    let items = errorItems(e.data);
    if (items.length === 0)
      items = [{ errorCode: e.errorCode, message: typeof e.data === 'string' ? e.data.slice(0, 300) : e.message }];
    return salesforceApiError(items, last?.status, last?.retryAfterMs);
  }
  return new UpstreamError(
    'UPSTREAM_SALESFORCE_ERROR',
    `The Salesforce call failed: ${e instanceof Error ? e.message : String(e)}`,
    { statusCode: last?.status, transient: false, cause: err },
  );
}

function isInvalidSession(err: unknown, last: LastResponse | undefined): boolean {
  return (
    (err as JsforceError)?.errorCode === 'INVALID_SESSION_ID' ||
    (!(err instanceof UpstreamError) && !(err instanceof RequestPreparationError) && last?.status === 401)
  );
}

export interface SalesforceCallResult<T> {
  value: T;
  /** HTTP status of the last Salesforce answer. */
  statusCode: number;
}

/**
 * Runs `fn` with a jsforce Connection on the connector's cached session. If
 * Salesforce refuses the session (INVALID_SESSION_ID: expired or revoked), it
 * logs in once more and runs `fn` again — once: a refused call changed nothing.
 */
export async function withSalesforce<T>(
  connector: SalesforceConnector,
  deps: WrapperDeps,
  fn: (conn: Connection) => Promise<T>,
  sessions: SessionCache = sessionCache,
  /** Sent on every API call (not the login): the job's `traceparent`. */
  extraHeaders: Record<string, string> = {},
): Promise<SalesforceCallResult<T>> {
  const credentials = await resolveCredentials(connector, deps);
  const { Connection: JsforceConnection, StreamPromise } = await loadJsforce();
  for (let refreshed = false; ; refreshed = true) {
    const session: SalesforceSession = await sessions.get(credentials, deps.fetch, connector.timeoutMs);
    deps.secretUsed?.(session.accessToken);
    const transport = new FetchTransport(StreamPromise, deps.fetch, connector.timeoutMs, extraHeaders);
    // Sforce-Call-Options names the client in the org's API usage and event logs.
    const conn = new JsforceConnection({
      instanceUrl: session.instanceUrl,
      accessToken: session.accessToken,
      version: connector.apiVersion,
      callOptions: { client: 'crm-bridge' },
    });
    conn._transport = transport as unknown as Connection['_transport'];
    try {
      const value = await fn(conn);
      return { value, statusCode: transport.last?.status ?? 200 };
    } catch (err) {
      if (!refreshed && isInvalidSession(err, transport.last)) {
        sessions.invalidate(credentials, session.accessToken);
        continue;
      }
      throw toUpstreamError(err, transport.last);
    }
  }
}
