import { XMLParser } from 'fast-xml-parser';
import { parseRetryAfter } from '../domain/retry-policy';
import { UpstreamHttpError, UpstreamNetworkError, UpstreamTimeoutError } from './errors';
import type { ResultEnvelope } from './types';

/**
 * Shared HTTP plumbing for HTTP-based wrappers: one timeout, one mapping of
 * transport failures and non-2xx answers to UpstreamErrors, one body parser.
 */
export async function send(fetchFn: typeof fetch, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetchFn(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (err) {
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) throw new UpstreamTimeoutError(timeoutMs);
    const reason = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new UpstreamNetworkError(`Could not reach ${new URL(url).origin}: ${reason}`, err);
  }
}

const MAX_ERROR_BODY_CHARS = 500;

// Attributes kept under "@_name"; numbers stay strings (a zip code is not a number).
const xmlParser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, trimValues: true });

/** JSON and XML bodies are parsed (XML to JSON); anything else is returned as text. */
export async function parseBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return null;
  const type = response.headers.get('content-type') ?? '';
  try {
    if (/[/+]json\b/i.test(type)) return JSON.parse(text);
    if (/[/+]xml\b/i.test(type)) return xmlParser.parse(text);
  } catch {
    // a body that does not match its content type is still worth seeing
  }
  return text;
}

/** Turn a response into the envelope, or throw UpstreamHttpError for non-2xx (body excerpt kept for the admin). */
export async function toEnvelope(response: Response, parse: (r: Response) => Promise<unknown> = parseBody): Promise<ResultEnvelope> {
  if (response.ok) return { statusCode: response.status, data: await parse(response) };
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
