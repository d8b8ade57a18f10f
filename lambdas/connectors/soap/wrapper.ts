import type { Client, IWSDLCache, WSDL } from 'soap';
import { operationOf } from '../common';
import { parseRetryAfter } from '../retry-after';
import { traceHeader, type CallRequest, type ResultEnvelope, type Wrapper, type WrapperDeps } from '../types';
import { resolveValue } from '../values';
import type { SoapConnector } from './schema';
import { checkedAxios } from '../soap-http';
import { type TargetRules } from '../targets';
import {
  RequestPreparationError,
  TargetNotAllowedError,
  UpstreamError,
  UpstreamHttpError,
  UpstreamNetworkError,
  UpstreamTimeoutError,
} from '../../shared/errors';

/**
 * One client per connector (WSDL + endpoint + version), built once per warm
 * Lambda; the WSDL is fetched and parsed once per URL and version (wsdlCaches).
 * Per connector, because a client carries that connector's credentials
 * (setSecurity). A failed build is not cached, so the next job tries again.
 */
const clients = new Map<string, Promise<Client>>();

/**
 * Parsed WSDLs by URL, one cache per SOAP version. The soap library's default
 * cache is keyed by URL alone, and each new client writes its options (such as
 * forceSoap12Headers) into the shared WSDL object: a 1.1 and a 1.2 connector on
 * the same WSDL would switch each other's envelopes.
 */
class WsdlCache implements IWSDLCache {
  private readonly wsdls = new Map<string, WSDL>();
  has(url: string) {
    return this.wsdls.has(url);
  }
  get(url: string) {
    return this.wsdls.get(url)!;
  }
  set(url: string, wsdl: WSDL) {
    this.wsdls.set(url, wsdl);
  }
}
const wsdlCaches = { '1.1': new WsdlCache(), '1.2': new WsdlCache() };

/** The soap library is loaded on first use: it is heavy, and most jobs are not SOAP. */
const loadSoap = () => import('soap');

function clientFor(connector: SoapConnector, targets: TargetRules | undefined): Promise<Client> {
  const key = JSON.stringify([
    connector.connectorId,
    connector.wsdlUrl,
    connector.endpoint ?? '',
    connector.soapVersion,
    targets ?? null,
  ]);
  let client = clients.get(key);
  if (!client) {
    client = loadSoap().then(async ({ createClientAsync }) =>
      createClientAsync(connector.wsdlUrl, {
        endpoint: connector.endpoint,
        forceSoap12Headers: connector.soapVersion === '1.2',
        wsdlCache: wsdlCaches[connector.soapVersion],
        wsdl_options: { timeout: connector.timeoutMs },
        // The soap library has its own HTTP client (axios): its WSDL, import and call requests get the same target checks.
        ...(targets && { request: await checkedAxios(targets) }),
      }),
    );
    client.catch(() => clients.delete(key));
    clients.set(key, client);
  }
  return client;
}

interface SoapLibError extends Error {
  code?: string;
  root?: { Envelope?: { Body?: { Fault?: Record<string, any> } } };
  response?: { status?: number; statusText?: string; headers?: Record<string, string> };
}

interface SoapFault {
  code: string;
  reason: string;
  /** The fault's detail, as parsed (an object, a string, or '' for <detail />). */
  detail: unknown;
}

function faultOf(err: SoapLibError): SoapFault | undefined {
  const fault = err.root?.Envelope?.Body?.Fault;
  if (!fault) return undefined;
  const text = (v: any): string =>
    v === undefined || v === null
      ? ''
      : typeof v === 'object'
        ? String(v.$value ?? v._ ?? JSON.stringify(v))
        : String(v);
  // SOAP 1.1: faultcode/faultstring/detail; SOAP 1.2: Code.Value/Reason.Text/Detail.
  const code = text(fault.faultcode) || text(fault.Code?.Value);
  const reason = text(fault.faultstring) || text(fault.Reason?.Text);
  return { code, reason, detail: fault.detail ?? fault.Detail ?? '' };
}

/**
 * Whether a server fault reports an exception in the service's own code (which
 * the same request will raise again), not a passing outage: ASMX wraps every
 * unhandled exception as "Server was unable to process request. ---> <message>"
 * (with customErrors off, "System.Web.Services.Protocols.SoapException: Server
 * was unable to process request. ---> System.X: ..."); WCF with
 * includeExceptionDetailInFaults puts an ExceptionDetail into the detail.
 */
export function isApplicationException(fault: Pick<SoapFault, 'reason' | 'detail'>): boolean {
  if (
    /^(System\.Web\.Services\.Protocols\.SoapException:\s*)?Server was unable to process request\.\s*--->/.test(
      fault.reason.trim(),
    )
  )
    return true;
  return /ExceptionDetail/.test(typeof fault.detail === 'string' ? fault.detail : JSON.stringify(fault.detail ?? ''));
}

export interface SoapFaultPolicy {
  /** The operation's retryOnServerFault; undefined: decided by the fault (isApplicationException). */
  retryOnServerFault?: boolean;
}

/** Maps what the soap library throws to the standard upstream errors. */
export function soapError(err: unknown, timeoutMs: number, where: string, policy: SoapFaultPolicy = {}): Error {
  const refused = err instanceof TargetNotAllowedError ? err : (err as { cause?: unknown } | null)?.cause;
  if (refused instanceof TargetNotAllowedError) return refused;
  const e = err as SoapLibError;
  const fault = faultOf(e);
  if (fault) {
    // Client/Sender faults need a different request; Server/Receiver faults may pass, unless they report an application exception.
    const server = /(^|:)(Server|Receiver)$/i.test(fault.code);
    const transient = server && (policy.retryOnServerFault ?? !isApplicationException(fault));
    return new UpstreamError('UPSTREAM_SOAP_FAULT', `SOAP Fault ${fault.code}: ${fault.reason}`, {
      statusCode: e.response?.status,
      transient,
    });
  }
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' || /timeout/i.test(e.message))
    return new UpstreamTimeoutError(timeoutMs);
  if (e.response?.status) {
    return new UpstreamHttpError(
      e.response.status,
      `The SOAP service answered HTTP ${e.response.status} without a SOAP Fault`,
      parseRetryAfter(e.response.headers?.['retry-after']),
    );
  }
  if (e.code) return new UpstreamNetworkError(`Could not reach ${where}: ${e.code}`, err);
  return new UpstreamError('UPSTREAM_SOAP_ERROR', `The SOAP call failed: ${e.message}`, {
    transient: false,
    cause: err,
  });
}

export const soapWrapper: Wrapper<SoapConnector> = {
  async call(request: CallRequest<SoapConnector>, deps: WrapperDeps): Promise<ResultEnvelope> {
    const { connector } = request;
    const op = operationOf(request);

    let client: Client;
    try {
      client = await clientFor(connector, deps.targets);
    } catch (err) {
      throw soapError(err, connector.timeoutMs, `the WSDL at ${new URL(connector.wsdlUrl).origin}`);
    }
    const auth = connector.auth;
    const { BasicAuthSecurity, WSSecurity } = await loadSoap();
    if (auth.type === 'basic') {
      client.setSecurity(
        new BasicAuthSecurity(
          await resolveValue(auth.username, connector.connectorId, deps.secrets),
          await deps.secrets.get(connector.connectorId, auth.password.secret),
        ),
      );
    } else if (auth.type === 'wsSecurity') {
      client.setSecurity(
        new WSSecurity(
          await resolveValue(auth.username, connector.connectorId, deps.secrets),
          await deps.secrets.get(connector.connectorId, auth.password.secret),
          {
            passwordType: auth.passwordType,
            hasTimeStamp: true,
          },
        ),
      );
    }

    const target =
      op.service && op.port ? (client as any)[op.service]?.[op.port]?.[op.operation] : (client as any)[op.operation];
    if (typeof target !== 'function') {
      throw new RequestPreparationError(
        'OPERATION_NOT_FOUND',
        `The WSDL of connector "${connector.connectorId}" has no operation "${op.operation}"${op.service ? ` in ${op.service}/${op.port}` : ''}`,
      );
    }
    const extraHeaders: Record<string, string> = {
      ...(request.correlationId && { 'x-correlation-id': request.correlationId }),
      ...traceHeader(request),
    };
    const result = await new Promise<unknown>((resolve, reject) => {
      target.call(
        client,
        request.payload ?? {},
        (err: unknown, res: unknown) =>
          err
            ? reject(
                soapError(err, connector.timeoutMs, connector.endpoint ?? 'the SOAP endpoint', {
                  retryOnServerFault: op.retryOnServerFault,
                }),
              )
            : resolve(res),
        { timeout: connector.timeoutMs },
        extraHeaders,
      );
    });
    return { statusCode: 200, data: result ?? null };
  },
};
