import http from 'node:http';
import https from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/**
 * What the wrappers need of fetch: a URL, a method, headers, a string or Buffer
 * body, a signal (the call's timeout), redirects followed. Node's fetch
 * satisfies it (tests may pass it); the worker passes `nodeFetch`.
 */
export interface HttpInit {
  method: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
}

export type HttpFetch = (url: string, init: HttpInit) => Promise<Response>;

/** The service answered, but its body broke off (the connection dropped, a broken encoding). */
export class AnswerBrokenError extends Error {
  constructor(cause: unknown) {
    super('the answer broke off', { cause });
    this.name = 'AnswerBrokenError';
  }
}

/*
 * Why not Node's fetch in the worker: every job's callout pays for it, and its
 * WHATWG stream machinery costs about three times the CPU of node:http per call
 * (measured here against a local server: 0.55 vs 0.16 ms). undici's request()
 * is as cheap but would add ~530 KB and ~60 ms to the worker's cold start. So
 * this is fetch's behaviour the wrappers rely on, over node:http, checked side
 * by side with fetch in test/unit/connectors/transport.test.ts.
 */
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
/** fetch's defaults, which some services require (a user agent, an accept header). */
const DEFAULT_HEADERS: Record<string, string> = { accept: '*/*', 'user-agent': 'crm-bridge', 'accept-encoding': 'gzip, deflate, br' };
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20; // fetch's limit
const NULL_BODY_STATUSES = new Set([204, 205, 304]);
/** Dropped when a redirect leaves the origin (as fetch does): credentials are for the first host only. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location'];

interface Answer {
  status: number;
  statusText: string;
  rawHeaders: string[];
  body: Buffer;
}

function failed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

function lowerCased(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

/** One request and its whole answer; a kept-alive socket the server had closed is retried once on a new one (as Node's docs advise). */
function exchange(target: URL, method: string, headers: Record<string, string>, body: Buffer | undefined, signal: AbortSignal | undefined, retried = false): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let settled = false;
    let answered = false;
    let req: http.ClientRequest;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const onAbort = () => {
      settle(() => reject(signal!.reason));
      req.destroy();
    };
    const onError = (err: NodeJS.ErrnoException) => {
      if (!answered && !retried && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        return settle(() => exchange(target, method, headers, body, signal, true).then(resolve, reject));
      }
      settle(() => reject(answered ? new AnswerBrokenError(err) : failed(err)));
    };
    try {
      req = (target.protocol === 'https:' ? https : http).request(target, {
        method,
        headers: body ? { ...headers, 'content-length': String(body.length) } : headers,
        agent: agents[target.protocol as keyof typeof agents],
      });
    } catch (err) {
      return reject(failed(err)); // e.g. a header value with characters HTTP does not allow
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', onError);
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', onError);
      res.on('close', () => {
        if (!res.complete) onError(Object.assign(new Error('the connection closed before the answer was complete'), { code: 'ECONNRESET' }));
      });
      res.on('end', () => settle(() => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) })));
    });
    req.end(body);
  });
}

/** fetch asks for compressed answers and decodes them; so do we (whole bodies, as the wrappers read them whole). */
function decode(body: Buffer, encoding: string | null): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(body);
    case 'deflate':
      return inflateSync(body);
    case 'br':
      return brotliDecompressSync(body);
    default:
      return body;
  }
}

function headerOf(rawHeaders: string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) return rawHeaders[i + 1];
  return undefined;
}

function toResponse(answer: Answer, method: string): Response {
  const { status } = answer;
  if (status < 200 || status > 599) throw failed(new Error(`unexpected HTTP status ${status}`));
  const headers = new Headers();
  for (let i = 0; i < answer.rawHeaders.length; i += 2) headers.append(answer.rawHeaders[i]!, answer.rawHeaders[i + 1]!);
  let body = answer.body;
  const encoding = headers.get('content-encoding');
  if (body.length > 0 && encoding) {
    try {
      body = decode(body, encoding);
    } catch (err) {
      throw new AnswerBrokenError(new Error(`its ${encoding} encoding is broken`, { cause: err }));
    }
    if (body !== answer.body) {
      // The body handed on is decoded: its stored length and encoding no longer apply.
      headers.delete('content-encoding');
      headers.delete('content-length');
    }
  }
  const nullBody = NULL_BODY_STATUSES.has(status) || method === 'HEAD';
  return new Response(nullBody ? null : body, { status, statusText: answer.statusText, headers });
}

/**
 * fetch over node:http(s) with kept-alive connections. The answer's body is
 * read whole before the Response is returned, within the same signal, so a body
 * that stalls or breaks off rejects here, like a failed fetch: with the
 * signal's reason when it fires, with a TypeError whose cause says what failed
 * (ECONNREFUSED...) when there is no answer, with AnswerBrokenError when the
 * answer broke off. Redirects are followed as fetch follows them.
 */
export const nodeFetch: HttpFetch = async (url, init) => {
  let target: URL;
  try {
    target = new URL(url);
  } catch (err) {
    throw failed(err);
  }
  let method = init.method.toUpperCase();
  let headers = { ...DEFAULT_HEADERS, ...lowerCased(init.headers) };
  let body = typeof init.body === 'string' ? Buffer.from(init.body) : init.body;
  for (let redirects = 0; ; redirects++) {
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw failed(new Error(`unsupported protocol ${target.protocol}`));
    const answer = await exchange(target, method, headers, body, init.signal);
    const location = REDIRECT_STATUSES.has(answer.status) ? headerOf(answer.rawHeaders, 'location') : undefined;
    if (location === undefined) return toResponse(answer, method);
    if (redirects >= MAX_REDIRECTS) throw failed(new Error(`more than ${MAX_REDIRECTS} redirects`));
    const next = new URL(location, target);
    if ((answer.status === 303 && method !== 'HEAD') || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !BODY_HEADERS.includes(name)));
    }
    if (next.origin !== target.origin) headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.includes(name)));
    target = next;
  }
};
