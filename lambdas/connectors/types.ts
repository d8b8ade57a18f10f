import type { Connector, ConnectorOf, ConnectorType } from './schema';
import type { SecretSource } from './secret-source';
import type { PrivateTargets, TargetRules } from './targets';
import type { HttpFetch } from './transport';

/** The standard result envelope every wrapper returns; stored as the job's `result`. */
export interface ResultEnvelope {
  /** Status reported by the upstream service (HTTP status, or 200 for protocols without one). */
  statusCode: number;
  /** Parsed body: JSON, parsed XML, or text. */
  data: unknown;
}

export interface CallRequest<C extends Connector = Connector> {
  connector: C;
  operationName: string;
  payload: unknown;
  recordId?: string;
  jobId: string;
  correlationId?: string;
  /** W3C traceparent for this call (the job's trace, a new span id); every wrapper sends it (traceHeader). */
  traceparent?: string;
}

/** The `traceparent` request header of a call, if the job carries a trace. */
export function traceHeader(request: Pick<CallRequest, 'traceparent'>): { traceparent?: string } {
  return request.traceparent ? { traceparent: request.traceparent } : {};
}

export interface WrapperDeps {
  secrets: SecretSource;
  fetch: HttpFetch;
  /**
   * Reports a credential derived from secrets (Basic credentials, an OAuth or
   * Salesforce access token), so it is redacted from the call's outcome like
   * the secrets themselves (see invoke.ts).
   */
  secretUsed?: (value: string) => void;
  /**
   * The deployment's policy for loopback/private targets (INTERNAL_TARGETS).
   * Set, every call through invoke.ts checks its targets; the worker always sets it.
   */
  privateTargets?: PrivateTargets;
  /** The target rules of the call in progress (set by invoke.ts), for clients with their own HTTP stack (SOAP). */
  targets?: TargetRules;
}

/** A data wrapper: builds the outgoing request, calls the service, returns the envelope or throws an UpstreamError. */
export interface Wrapper<C extends Connector = Connector> {
  call(request: CallRequest<C>, deps: WrapperDeps): Promise<ResultEnvelope>;
}

export type WrapperMap = { [T in ConnectorType]: Wrapper<ConnectorOf<T>> };
