import { XMLParser } from 'fast-xml-parser';
import { parseRetryAfter } from './retry-after';
import { parseJson } from './json';
import { followsRedirects, type HttpFetch, type HttpInit } from './transport';
import type { ResultEnvelope } from './types';
import {
  RequestPreparationError,
  TargetNotAllowedError,
  UpstreamError,
  UpstreamHttpError,
  UpstreamNetworkError,
  UpstreamTimeoutError,
} from '../shared/errors';

/**
 * Shared HTTP plumbing for HTTP-based wrappers: one timeout, one mapping of
 * transport failures and non-2xx answers to UpstreamErrors, one body parser.
 */

const ABORT_NAMES = new Set(['TimeoutError', 'AbortError']);

const nameOf = (value: unknown): unknown =>
  value !== null && typeof value === 'object' ? (value as { name?: unknown }).name : undefined;

/**
 * Whether a fetch (or a body read) failed because its signal fired: fetch rejects
 * with a DOMException named TimeoutError (AbortSignal.timeout) or AbortError,
 * sometimes as the `cause` of a TypeError. Checked by name only: those errors
 * can come from another realm (Node's own, seen from jest's sandbox), where
 * `instanceof Error` / `instanceof DOMException` is false.
 */
export function isTimeoutOrAbort(err: unknown): boolean {
  if (ABORT_NAMES.has(nameOf(err) as string)) return true;
  const cause = err !== null && typeof err === 'object' ? (err as { cause?: unknown }).cause : undefined;
  return ABORT_NAMES.has(nameOf(cause) as string);
}

/** What went wrong, for the admin: fetch's "fetch failed" TypeError keeps the reason (ECONNREFUSED, ENOTFOUND...) in its cause. */
function reasonOf(err: unknown): string {
  const messageOf = (value: unknown) =>
    value !== null && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string'
      ? (value as { message: string }).message
      : undefined;
  const cause = err !== null && typeof err === 'object' ? (err as { cause?: unknown }).cause : undefined;
  return messageOf(cause) ?? messageOf(err) ?? String(err);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the service';
  }
}

/** The service answered, but the answer did not arrive whole: retryable, like any network failure. */
function brokeOff(url: string, err: unknown): UpstreamNetworkError {
  return new UpstreamNetworkError(`The answer of ${originOf(url)} broke off: ${reasonOf(err)}`, err);
}

/** One call with the connector's timeout; redirects followed for GET/HEAD only unless `init.redirect` says otherwise. */
export async function send(
  fetchFn: HttpFetch,
  url: string,
  init: Omit<HttpInit, 'signal'>,
  timeoutMs: number,
): Promise<Response> {
  try {
    return await fetchFn(url, {
      ...init,
      redirect: followsRedirects(init) ? 'follow' : 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    // A refused target (here, or in the DNS lookup of the connection) sent nothing.
    if (err instanceof TargetNotAllowedError) throw err;
    const cause = (err as { cause?: unknown } | null)?.cause;
    if (cause instanceof TargetNotAllowedError) throw cause;
    if (isTimeoutOrAbort(err)) throw new UpstreamTimeoutError(timeoutMs);
    // nodeFetch reads the body before it resolves.
    if (nameOf(err) === 'AnswerBrokenError') throw brokeOff(url, err);
    throw new UpstreamNetworkError(`Could not reach ${originOf(url)}: ${reasonOf(err)}`, err);
  }
}

/**
 * Reads the body of a response from send(): its timeout covers the body too, so a
 * body that stops arriving is UPSTREAM_TIMEOUT, and a connection lost mid-body
 * UPSTREAM_NETWORK_ERROR (both retryable), never an unexplained worker error.
 */
export async function readBody<T>(
  response: Response,
  timeoutMs: number,
  read: (r: Response) => Promise<T>,
): Promise<T> {
  try {
    return await read(response);
  } catch (err) {
    if (err instanceof UpstreamError || err instanceof RequestPreparationError) throw err;
    if (isTimeoutOrAbort(err)) throw new UpstreamTimeoutError(timeoutMs);
    throw brokeOff(response.url, err);
  }
}

const MAX_ERROR_BODY_CHARS = 500;

// Attributes kept under "@_name"; numbers stay strings (a zip code is not a number).
const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  trimValues: true,
});

/** JSON (integers beyond 2^53 kept as strings, see json.ts) and XML bodies are parsed (XML to JSON); anything else is returned as text. */
export async function parseBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return null;
  const type = response.headers.get('content-type') ?? '';
  try {
    if (/[/+]json\b/i.test(type)) return parseJson(text);
    if (/[/+]xml\b/i.test(type)) return xmlParser.parse(text);
  } catch {
    // a body that does not match its content type is still worth seeing
  }
  return text;
}

/**
 * Turn a response into the envelope, or throw UpstreamHttpError for non-2xx (body excerpt kept for the admin).
 * `timeoutMs` is the one given to send(): reading the body is bounded by it (see readBody).
 */
export async function toEnvelope(
  response: Response,
  timeoutMs: number,
  parse: (r: Response) => Promise<unknown> = parseBody,
): Promise<ResultEnvelope> {
  if (response.ok) return { statusCode: response.status, data: await readBody(response, timeoutMs, parse) };
  let excerpt = '';
  try {
    excerpt = (await response.text()).slice(0, MAX_ERROR_BODY_CHARS);
  } catch {
    // the body is only context for the message
  }
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  throw new UpstreamHttpError(
    response.status,
    `The service answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${excerpt ? `: ${excerpt}` : ''}`,
    retryAfterMs,
  );
}
