import { XMLBuilder } from 'fast-xml-parser';
import { operationOf } from '../common';
import { parseBody, send, toEnvelope } from '../upstream-http';
import { mapRequest, mapResponse } from '../mapping';
import { tokenCache, type ClientCredentials } from '../oauth2';
import type { CallRequest, ResultEnvelope, Wrapper, WrapperDeps } from '../types';
import { resolveHeaders, resolveValue } from '../values';
import type { RestConnector, RestOperation } from './schema';
import { RequestPreparationError } from '../../shared/errors';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const CONTENT_TYPES = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
  xml: 'application/xml',
} as const;
const xmlBuilder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true });

export interface BuiltRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function scalar(value: unknown): string {
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function encodeBody(op: RestOperation, body: unknown): string {
  switch (op.contentType) {
    case 'json':
      return JSON.stringify(body ?? {});
    case 'form': {
      const form = new URLSearchParams();
      for (const [k, v] of Object.entries(asRecord(body))) {
        if (v === undefined || v === null) continue;
        if (Array.isArray(v)) v.forEach((item) => form.append(k, scalar(item)));
        else form.append(k, scalar(v));
      }
      return form.toString();
    }
    case 'xml':
      return `<?xml version="1.0" encoding="UTF-8"?>${xmlBuilder.build({ [op.xmlRoot ?? 'request']: body ?? {} })}`;
  }
}

/**
 * "." or "..", in any percent-encoding (decoded repeatedly: a server or proxy
 * may decode once more than we encode), would move a path up once the URL is
 * normalized, out of the operation's path.
 */
function isDotSegment(text: string): boolean {
  let current = text;
  for (let i = 0; i < 5; i++) {
    if (/^\.{1,2}$/.test(current)) return true;
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return false;
    }
    if (next === current) return false;
    current = next;
  }
  return true; // still encoded five layers deep: nobody needs that
}

/** Whether the built URL stays on the baseUrl's origin, within its path. */
function isUnder(url: URL, baseUrl: string): boolean {
  const base = new URL(baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  return url.origin === base.origin && (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`));
}

/**
 * Builds the request: the operation's request mapping (or the payload) gives the
 * fields; `{name}` placeholders take theirs; the rest is the query (GET/DELETE)
 * or the body, encoded as the operation's content type.
 */
export function buildRestRequest(
  connector: RestConnector,
  op: RestOperation,
  payload: unknown,
  recordId?: string,
): BuiltRequest {
  const source = op.request ? mapRequest(op.request, { payload, recordId }) : payload;
  const fields = asRecord(source);
  const used = new Set<string>();
  const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const value = fields[name];
    if (value === undefined || value === null || value === '') {
      throw new RequestPreparationError(
        'INVALID_PAYLOAD',
        `The ${op.request ? 'mapped request' : 'payload'} has no "${name}" field, needed by the operation path ${op.path}`,
      );
    }
    used.add(name);
    const text = scalar(value);
    if (isDotSegment(text)) {
      throw new RequestPreparationError(
        'INVALID_PAYLOAD',
        `The "${name}" field of the ${op.request ? 'mapped request' : 'payload'} is a dot segment (${JSON.stringify(text)}), which would leave the operation path ${op.path}`,
      );
    }
    return encodeURIComponent(text);
  });
  const url = new URL(connector.baseUrl.replace(/\/+$/, '') + path);
  if (!isUnder(url, connector.baseUrl)) {
    throw new RequestPreparationError(
      'INVALID_PAYLOAD',
      `The operation path ${op.path} leads outside the connector's baseUrl`,
    );
  }
  const headers: Record<string, string> = {
    accept: 'application/json, application/xml;q=0.9, text/plain;q=0.8, */*;q=0.5',
  };
  if (BODY_METHODS.has(op.method)) {
    headers['content-type'] = CONTENT_TYPES[op.contentType];
    return { url: url.toString(), method: op.method, headers, body: encodeBody(op, source) };
  }
  for (const [key, value] of Object.entries(fields)) {
    if (used.has(key) || value === undefined || value === null) continue;
    if (Array.isArray(value)) value.forEach((v) => url.searchParams.append(key, scalar(v)));
    else url.searchParams.append(key, scalar(value));
  }
  return { url: url.toString(), method: op.method, headers };
}

async function clientCredentials(connector: RestConnector, deps: WrapperDeps): Promise<ClientCredentials | undefined> {
  const auth = connector.auth;
  if (auth.type !== 'oauth2ClientCredentials') return undefined;
  return {
    tokenUrl: auth.tokenUrl,
    clientId: await resolveValue(auth.clientId, connector.connectorId, deps.secrets),
    clientSecret: await deps.secrets.get(connector.connectorId, auth.clientSecret.secret),
    scope: auth.scope,
    audience: auth.audience,
    authMethod: auth.authMethod,
    basicEncoding: auth.basicEncoding,
  };
}

/** Puts the credential on the request (header or query); returns the OAuth token used, if any. */
async function authorize(
  request: BuiltRequest,
  connector: RestConnector,
  deps: WrapperDeps,
  oauth?: ClientCredentials,
): Promise<string | undefined> {
  const { auth, connectorId } = connector;
  switch (auth.type) {
    case 'none':
      return undefined;
    case 'bearer':
      request.headers.authorization = `Bearer ${await deps.secrets.get(connectorId, auth.secret)}`;
      return undefined;
    case 'basic': {
      const user = await resolveValue(auth.username, connectorId, deps.secrets);
      const password = await deps.secrets.get(connectorId, auth.password.secret);
      request.headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      deps.secretUsed?.(request.headers.authorization.slice('Basic '.length));
      return undefined;
    }
    case 'apiKey': {
      const key = await deps.secrets.get(connectorId, auth.value.secret);
      if (auth.in === 'header') request.headers[auth.name.toLowerCase()] = key;
      else {
        const url = new URL(request.url);
        url.searchParams.set(auth.name, key);
        request.url = url.toString();
      }
      return undefined;
    }
    case 'oauth2ClientCredentials': {
      const token = await tokenCache.get(oauth!, deps.fetch, connector.timeoutMs);
      deps.secretUsed?.(token);
      request.headers.authorization = `Bearer ${token}`;
      return token;
    }
  }
}

/** The headers that carry a credential: the auth scheme's, and every header whose value is a secret. */
function sensitiveHeaders(connector: RestConnector, op: RestOperation): string[] {
  const names = Object.entries({ ...connector.headers, ...op.headers })
    .filter(([, value]) => typeof value !== 'string')
    .map(([name]) => name.toLowerCase());
  const { auth } = connector;
  if (auth.type === 'apiKey' && auth.in === 'header') names.push(auth.name.toLowerCase());
  else if (auth.type !== 'none' && auth.type !== 'apiKey') names.push('authorization');
  return names;
}

export const restWrapper: Wrapper<RestConnector> = {
  async call(request: CallRequest<RestConnector>, deps: WrapperDeps): Promise<ResultEnvelope> {
    const { connector } = request;
    const op = operationOf(request);
    const built = buildRestRequest(connector, op, request.payload, request.recordId);
    // Static headers first, so auth and content type cannot be overridden by accident.
    const staticHeaders = {
      ...(await resolveHeaders(connector.headers, connector.connectorId, deps.secrets)),
      ...(await resolveHeaders(op.headers, connector.connectorId, deps.secrets)),
    };
    built.headers = { ...staticHeaders, ...built.headers };
    if (request.correlationId) built.headers['x-correlation-id'] = request.correlationId;
    if (request.traceparent) built.headers.traceparent = request.traceparent;
    if (op.idempotencyKeyHeader !== false) built.headers[op.idempotencyKeyHeader.toLowerCase()] = request.jobId;
    const oauth = await clientCredentials(connector, deps);

    const attempt = async () => {
      const req = { ...built, headers: { ...built.headers } };
      const token = await authorize(req, connector, deps, oauth);
      const response = await send(
        deps.fetch,
        req.url,
        {
          method: req.method,
          headers: req.headers,
          body: req.body,
          ...(op.followRedirects !== undefined && { redirect: op.followRedirects ? 'follow' : 'manual' }),
          sensitiveHeaders: sensitiveHeaders(connector, op),
        },
        connector.timeoutMs,
      );
      return { response, token };
    };
    let { response, token } = await attempt();
    if (response.status === 401 && oauth && token) {
      // The token may have been revoked or expired early: one fresh token, one more try.
      await response.body?.cancel();
      tokenCache.invalidate(oauth, token);
      ({ response } = await attempt());
    }
    const envelope = await toEnvelope(response, connector.timeoutMs, parseBody);
    return op.response ? { statusCode: envelope.statusCode, data: mapResponse(op.response, envelope.data) } : envelope;
  },
};
