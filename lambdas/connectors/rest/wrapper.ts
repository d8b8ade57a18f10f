import { RequestPreparationError } from '../errors';
import { send, toEnvelope } from '../http';
import type { CallRequest, ResultEnvelope, Wrapper, WrapperDeps } from '../types';
import type { RestConnector, RestOperation } from './schema';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

export interface BuiltRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

function asRecord(payload: unknown): Record<string, unknown> {
  if (payload === undefined || payload === null) return {};
  if (typeof payload === 'object' && !Array.isArray(payload)) return payload as Record<string, unknown>;
  return {};
}

function scalar(value: unknown): string {
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Fill `{name}` from the payload, put the rest in the query (GET/DELETE) or send the payload as the JSON body. */
export function buildRestRequest(connector: RestConnector, operation: RestOperation, payload: unknown): BuiltRequest {
  const fields = asRecord(payload);
  const used = new Set<string>();
  const path = operation.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const value = fields[name];
    if (value === undefined || value === null || value === '') {
      throw new RequestPreparationError('INVALID_PAYLOAD', `The payload has no "${name}" field, needed by the operation path ${operation.path}`);
    }
    used.add(name);
    return encodeURIComponent(scalar(value));
  });
  const url = new URL(connector.baseUrl.replace(/\/+$/, '') + path);
  const headers: Record<string, string> = { accept: 'application/json, text/plain;q=0.9, */*;q=0.8' };
  if (BODY_METHODS.has(operation.method)) {
    headers['content-type'] = 'application/json';
    return { url: url.toString(), method: operation.method, headers, body: JSON.stringify(payload ?? {}) };
  }
  for (const [key, value] of Object.entries(fields)) {
    if (used.has(key) || value === undefined || value === null) continue;
    if (Array.isArray(value)) value.forEach((v) => url.searchParams.append(key, scalar(v)));
    else url.searchParams.append(key, scalar(value));
  }
  return { url: url.toString(), method: operation.method, headers };
}

async function authHeaders(connector: RestConnector, deps: WrapperDeps): Promise<Record<string, string>> {
  switch (connector.auth.type) {
    case 'none':
      return {};
    case 'bearer':
      return { authorization: `Bearer ${await deps.secrets.get(connector.connectorId, connector.auth.secret)}` };
  }
}

export const restWrapper: Wrapper<RestConnector> = {
  async call(request: CallRequest<RestConnector>, deps: WrapperDeps): Promise<ResultEnvelope> {
    const { connector, operationName } = request;
    const operation = connector.operations[operationName];
    if (!operation) throw new RequestPreparationError('OPERATION_NOT_FOUND', `Connector "${connector.connectorId}" has no operation "${operationName}"`);
    const built = buildRestRequest(connector, operation, request.payload);
    const headers = { ...built.headers, ...(await authHeaders(connector, deps)) };
    if (request.correlationId) headers['x-correlation-id'] = request.correlationId;
    const response = await send(deps.fetch, built.url, { method: built.method, headers, body: built.body }, connector.timeoutMs);
    return toEnvelope(response);
  },
};
