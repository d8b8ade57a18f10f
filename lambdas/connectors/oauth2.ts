import { readBody, send } from './upstream-http';
import { parseJson } from './json';
import type { HttpFetch } from './transport';
import { parseRetryAfter } from './retry-after';
import { TtlCache } from '../shared/cache';
import { UpstreamError } from '../shared/errors';

/**
 * OAuth 2.0 client credentials tokens, cached at module scope so every
 * invocation of a warm Lambda reuses them until shortly before expiry, and
 * concurrent callers share one token request.
 */
export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  audience?: string;
  /** client_secret_basic (Authorization header, the RFC's default) or client_secret_post. */
  authMethod: 'basic' | 'body';
  /** client_secret_basic only: form-urlencode id and secret (RFC 6749 §2.3.1, the default) or send them raw. */
  basicEncoding?: 'form' | 'none';
}

/**
 * application/x-www-form-urlencoded as RFC 6749 §2.3.1 (Appendix B) asks for the
 * Basic credentials: encodeURIComponent leaves !'()*~ as they are and writes a
 * space as %20; the form encoding escapes those and writes a space as "+".
 */
export function formUrlEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** The Authorization header of client_secret_basic. */
export function basicCredentials(clientId: string, clientSecret: string, encoding: 'form' | 'none' = 'form'): string {
  const encode = encoding === 'none' ? (v: string) => v : formUrlEncode;
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

interface Token {
  accessToken: string;
  lifetimeMs: number;
}

/** Renew this long before the token expires, so it never expires mid-call. */
const EXPIRY_MARGIN_MS = 60_000;
/** When the server gives no expires_in. */
const DEFAULT_LIFETIME_MS = 300_000;

export class TokenCache {
  private readonly tokens: TtlCache<string, Token>;

  constructor(now: () => number = Date.now) {
    this.tokens = new TtlCache({ ttlMs: (token) => token.lifetimeMs - EXPIRY_MARGIN_MS, now });
  }

  private key(c: ClientCredentials): string {
    return JSON.stringify([c.tokenUrl, c.clientId, c.scope ?? '', c.audience ?? '']);
  }

  async get(c: ClientCredentials, fetchFn: HttpFetch, timeoutMs: number): Promise<string> {
    const token = await this.tokens.get(this.key(c), () => this.request(c, fetchFn, timeoutMs));
    return token.accessToken;
  }

  /** Forget a token the API refused (401), so the next get() fetches a new one. */
  invalidate(c: ClientCredentials, accessToken: string): void {
    this.tokens.delete(this.key(c), (token) => token.accessToken === accessToken);
  }

  private async request(c: ClientCredentials, fetchFn: HttpFetch, timeoutMs: number): Promise<Token> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (c.scope) form.set('scope', c.scope);
    if (c.audience) form.set('audience', c.audience);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (c.authMethod === 'basic') {
      headers.authorization = basicCredentials(c.clientId, c.clientSecret, c.basicEncoding);
    } else {
      form.set('client_id', c.clientId);
      form.set('client_secret', c.clientSecret);
    }
    const response = await send(fetchFn, c.tokenUrl, { method: 'POST', headers, body: form.toString() }, timeoutMs);
    const text = await readBody(response, timeoutMs, (r) => r.text());
    let body: Record<string, unknown> = {};
    try {
      body = parseJson(text) as Record<string, unknown>;
    } catch {
      // reported below
    }
    if (!response.ok || typeof body.access_token !== 'string') {
      // The token endpoint's error (RFC 6749 §5.2) names the problem; its body never holds our secret.
      const reason =
        typeof body.error === 'string'
          ? `${body.error}${body.error_description ? `: ${String(body.error_description)}` : ''}`
          : `HTTP ${response.status}`;
      throw new UpstreamError(
        'OAUTH_TOKEN_FAILED',
        `The token endpoint ${new URL(c.tokenUrl).origin} refused the client credentials (${reason})`,
        {
          statusCode: response.status,
          retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
          // Bad credentials will not fix themselves; an unavailable token endpoint may.
          transient: response.status === 429 || response.status >= 500,
        },
      );
    }
    const expiresIn = Number(body.expires_in);
    return {
      accessToken: body.access_token,
      lifetimeMs: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : DEFAULT_LIFETIME_MS,
    };
  }
}

/** Shared by every connector in this process (warm Lambda). */
export const tokenCache = new TokenCache();
