import { sign } from 'node:crypto';
import { parseRetryAfter } from '../retry-after';
import { readBody, send } from '../upstream-http';
import { parseJson } from '../json';
import type { HttpFetch } from '../transport';
import type { WrapperDeps } from '../types';
import { resolveValue } from '../values';
import type { SalesforceConnector } from './schema';
import { TtlCache } from '../../shared/cache';
import { RequestPreparationError, UpstreamError } from '../../shared/errors';

/** What a login yields: the token and the org's instance URL (which is not the login URL). */
export interface SalesforceSession {
  accessToken: string;
  instanceUrl: string;
}

/** Resolved credentials of one connector: ids from the row or SSM, secrets from SSM. */
export type SalesforceCredentials =
  | { flow: 'clientCredentials'; tokenUrl: string; clientId: string; clientSecret: string }
  | { flow: 'jwtBearer'; tokenUrl: string; clientId: string; username: string; privateKey: string; audience: string };

export const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Salesforce accepts a JWT bearer assertion whose exp is at most 3 minutes ahead. */
const JWT_LIFETIME_SECONDS = 180;

/**
 * The JWT `aud` Salesforce expects is the login server, not the My Domain host
 * that serves the token endpoint: test.salesforce.com for sandboxes,
 * login.salesforce.com for production; any other host (a stand-in) is its own audience.
 */
export function defaultAudience(loginUrl: string): string {
  const { origin, hostname } = new URL(loginUrl);
  if (/\.sandbox\.my\.salesforce\.com$/i.test(hostname)) return 'https://test.salesforce.com';
  if (/\.my\.salesforce\.com$/i.test(hostname)) return 'https://login.salesforce.com';
  return origin;
}

export async function resolveCredentials(
  connector: SalesforceConnector,
  deps: Pick<WrapperDeps, 'secrets'>,
): Promise<SalesforceCredentials> {
  const { auth, connectorId } = connector;
  const tokenUrl = `${connector.loginUrl.replace(/\/+$/, '')}/services/oauth2/token`;
  const clientId = await resolveValue(auth.clientId, connectorId, deps.secrets);
  if (auth.type === 'clientCredentials') {
    return {
      flow: 'clientCredentials',
      tokenUrl,
      clientId,
      clientSecret: await deps.secrets.get(connectorId, auth.clientSecret.secret),
    };
  }
  return {
    flow: 'jwtBearer',
    tokenUrl,
    clientId,
    username: await resolveValue(auth.username, connectorId, deps.secrets),
    privateKey: normalizePem(await deps.secrets.get(connectorId, auth.privateKey.secret)),
    audience: auth.audience ?? defaultAudience(connector.loginUrl),
  };
}

/** A PEM pasted as one line with literal "\n" (a common copy-paste form) is turned back into lines. */
function normalizePem(pem: string): string {
  return !pem.includes('\n') && pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem;
}

const base64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** The JWT bearer assertion (RFC 7523) Salesforce expects: RS256, iss = client id, sub = username, aud = login host. */
export function signJwtAssertion(
  c: { clientId: string; username: string; audience: string; privateKey: string },
  nowMs: number,
): string {
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = base64url(
    JSON.stringify({
      iss: c.clientId,
      sub: c.username,
      aud: c.audience,
      exp: Math.floor(nowMs / 1000) + JWT_LIFETIME_SECONDS,
    }),
  );
  let signature: Buffer;
  try {
    signature = sign('RSA-SHA256', Buffer.from(`${header}.${claims}`), c.privateKey);
  } catch (err) {
    // The key's text must not reach the message: name the problem only.
    throw new RequestPreparationError(
      'SALESFORCE_PRIVATE_KEY_INVALID',
      'The JWT bearer private key secret is not a usable PEM RSA private key',
      err,
    );
  }
  return `${header}.${claims}.${base64url(signature)}`;
}

/**
 * Salesforce sessions cached at module scope by login (URL, client, user):
 * every warm invocation reuses one login until Salesforce refuses the token
 * (INVALID_SESSION_ID), because a login per call would hit the org's login
 * rate limit. Concurrent callers share one token request.
 */
export class SessionCache {
  /** Kept until Salesforce refuses it: a session's lifetime is the org's setting, not told at login. */
  private readonly sessions = new TtlCache<string, SalesforceSession>({ ttlMs: Number.POSITIVE_INFINITY });

  constructor(private readonly now: () => number = Date.now) {}

  private key(c: SalesforceCredentials): string {
    return JSON.stringify(
      c.flow === 'jwtBearer'
        ? [c.tokenUrl, c.flow, c.clientId, c.username, c.audience]
        : [c.tokenUrl, c.flow, c.clientId],
    );
  }

  get(c: SalesforceCredentials, fetchFn: HttpFetch, timeoutMs: number): Promise<SalesforceSession> {
    return this.sessions.get(this.key(c), () => this.login(c, fetchFn, timeoutMs));
  }

  /** Forget a session Salesforce refused, unless another caller already replaced it. */
  invalidate(c: SalesforceCredentials, accessToken: string): void {
    this.sessions.delete(this.key(c), (session) => session.accessToken === accessToken);
  }

  clear(): void {
    this.sessions.clear();
  }

  private async login(c: SalesforceCredentials, fetchFn: HttpFetch, timeoutMs: number): Promise<SalesforceSession> {
    const form =
      c.flow === 'clientCredentials'
        ? new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: c.clientId,
            client_secret: c.clientSecret,
          })
        : new URLSearchParams({ grant_type: JWT_GRANT, assertion: signJwtAssertion(c, this.now()) });
    const response = await send(
      fetchFn,
      c.tokenUrl,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
      },
      timeoutMs,
    );
    const text = await readBody(response, timeoutMs, (r) => r.text());
    let body: Record<string, unknown> = {};
    try {
      body = parseJson(text) as Record<string, unknown>;
    } catch {
      // reported below
    }
    if (!response.ok || typeof body.access_token !== 'string' || typeof body.instance_url !== 'string') {
      // Salesforce's OAuth error ({error, error_description}) names the problem and never echoes our secret.
      const reason =
        typeof body.error === 'string'
          ? `${body.error}${body.error_description ? `: ${String(body.error_description)}` : ''}`
          : `HTTP ${response.status}`;
      throw new UpstreamError(
        'SALESFORCE_LOGIN_FAILED',
        `Salesforce login (${c.flow}) at ${new URL(c.tokenUrl).origin} failed (${reason})`,
        {
          statusCode: response.status,
          retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
          // Wrong credentials or an unapproved user will not fix themselves; an unavailable endpoint may.
          transient: response.status === 429 || response.status >= 500,
        },
      );
    }
    return { accessToken: body.access_token, instanceUrl: body.instance_url.replace(/\/+$/, '') };
  }
}

/** Shared by every Salesforce connector and delivery in this process (warm Lambda). */
export const sessionCache = new SessionCache();
