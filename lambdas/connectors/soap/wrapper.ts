import type { Client, IWSDLCache, WSDL } from 'soap';
import { ownEntry } from '../common';
import { RequestPreparationError, UpstreamError, UpstreamHttpError, UpstreamNetworkError, UpstreamTimeoutError } from '../errors';
import { parseRetryAfter } from '../../domain/retry-policy';
import type { CallRequest, ResultEnvelope, Wrapper, WrapperDeps } from '../types';
import { resolveValue } from '../values';
import type { SoapConnector } from './schema';

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

function clientFor(connector: SoapConnector): Promise<Client> {
  const key = JSON.stringify([connector.connectorId, connector.wsdlUrl, connector.endpoint ?? '', connector.soapVersion]);
  let client = clients.get(key);
  if (!client) {
    client = loadSoap().then(({ createClientAsync }) => createClientAsync(connector.wsdlUrl, {
      endpoint: connector.endpoint,
      forceSoap12Headers: connector.soapVersion === '1.2',
      wsdlCache: wsdlCaches[connector.soapVersion],
      wsdl_options: { timeout: connector.timeoutMs },
    }));
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

function faultOf(err: SoapLibError): { code: string; reason: string } | undefined {
  const fault = err.root?.Envelope?.Body?.Fault;
  if (!fault) return undefined;
  const text = (v: any): string => (v === undefined || v === null ? '' : typeof v === 'object' ? String(v.$value ?? v._ ?? JSON.stringify(v)) : String(v));
  // SOAP 1.1: faultcode/faultstring; SOAP 1.2: Code.Value/Reason.Text.
  const code = text(fault.faultcode) || text(fault.Code?.Value);
  const reason = text(fault.faultstring) || text(fault.Reason?.Text);
  return { code, reason };
}

/** Maps what the soap library throws to the standard upstream errors. */
export function soapError(err: unknown, timeoutMs: number, where: string): Error {
  const e = err as SoapLibError;
  const fault = faultOf(e);
  if (fault) {
    // Server/Receiver faults may pass; Client/Sender faults need a different request.
    const server = /(^|:)(Server|Receiver)$/i.test(fault.code);
    return new UpstreamError('UPSTREAM_SOAP_FAULT', `SOAP Fault ${fault.code}: ${fault.reason}`, { statusCode: e.response?.status, transient: server });
  }
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' || /timeout/i.test(e.message)) return new UpstreamTimeoutError(timeoutMs);
  if (e.response?.status) {
    return new UpstreamHttpError(e.response.status, `The SOAP service answered HTTP ${e.response.status} without a SOAP Fault`, parseRetryAfter(e.response.headers?.['retry-after']));
  }
  if (e.code) return new UpstreamNetworkError(`Could not reach ${where}: ${e.code}`, err);
  return new UpstreamError('UPSTREAM_SOAP_ERROR', `The SOAP call failed: ${e.message}`, { transient: false, cause: err });
}

export const soapWrapper: Wrapper<SoapConnector> = {
  async call(request: CallRequest<SoapConnector>, deps: WrapperDeps): Promise<ResultEnvelope> {
    const { connector, operationName } = request;
    const op = ownEntry(connector.operations, operationName);
    if (!op) throw new RequestPreparationError('OPERATION_NOT_FOUND', `Connector "${connector.connectorId}" has no operation "${operationName}"`);

    let client: Client;
    try {
      client = await clientFor(connector);
    } catch (err) {
      throw soapError(err, connector.timeoutMs, `the WSDL at ${new URL(connector.wsdlUrl).origin}`);
    }
    const auth = connector.auth;
    const { BasicAuthSecurity, WSSecurity } = await loadSoap();
    if (auth.type === 'basic') {
      client.setSecurity(new BasicAuthSecurity(await resolveValue(auth.username, connector.connectorId, deps.secrets), await deps.secrets.get(connector.connectorId, auth.password.secret)));
    } else if (auth.type === 'wsSecurity') {
      client.setSecurity(
        new WSSecurity(await resolveValue(auth.username, connector.connectorId, deps.secrets), await deps.secrets.get(connector.connectorId, auth.password.secret), {
          passwordType: auth.passwordType,
          hasTimeStamp: true,
        }),
      );
    }

    const target = op.service && op.port ? (client as any)[op.service]?.[op.port]?.[op.operation] : (client as any)[op.operation];
    if (typeof target !== 'function') {
      throw new RequestPreparationError('OPERATION_NOT_FOUND', `The WSDL of connector "${connector.connectorId}" has no operation "${op.operation}"${op.service ? ` in ${op.service}/${op.port}` : ''}`);
    }
    const extraHeaders: Record<string, string> = request.correlationId ? { 'x-correlation-id': request.correlationId } : {};
    const result = await new Promise<unknown>((resolve, reject) => {
      target.call(
        client,
        request.payload ?? {},
        (err: unknown, res: unknown) => (err ? reject(soapError(err, connector.timeoutMs, connector.endpoint ?? 'the SOAP endpoint')) : resolve(res)),
        { timeout: connector.timeoutMs },
        extraHeaders,
      );
    });
    return { statusCode: 200, data: result ?? null };
  },
};
