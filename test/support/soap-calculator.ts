import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as soap from 'soap';

/**
 * A real SOAP service on 127.0.0.1: the public Calculator WSDL (test/fixtures) served
 * with soap.listen, SOAP 1.1 at /calculator.asmx and SOAP 1.2 (1.2 envelopes and
 * Code/Reason faults) at /calculator12.asmx. Faults: Divide by zero is a client
 * (Sender) fault; Multiply with intA 999 is a server (Receiver) fault. Every
 * request's credentials and content type are recorded for the tests.
 */
export interface SoapCalculator {
  url: string;
  wsdlUrl: string;
  endpoint: string;
  /** The SOAP 1.2 listener (the WSDL names one address for both bindings; soap.listen binds by path). */
  endpoint12: string;
  basicAuth: string[];
  usernameTokens: Array<{ username: string; password: unknown }>;
  /** Content-Type of each SOAP POST: text/xml for 1.1, application/soap+xml for 1.2. */
  contentTypes: string[];
  requests: number;
  /** GET ...?wsdl requests: clients should fetch the WSDL once per process. */
  wsdlFetches: number;
  close(): Promise<void>;
}

const fault11 = (code: string, text: string) => ({ Fault: { faultcode: code, faultstring: text, statusCode: 500 } });
const fault12 = (code: string, text: string) => ({ Fault: { Code: { Value: code }, Reason: { Text: text }, statusCode: 500 } });

function calculator(fault: (code: string, text: string) => object, client: string, server: string) {
  return {
    Add: ({ intA, intB }: { intA: string; intB: string }) => ({ AddResult: Number(intA) + Number(intB) }),
    Subtract: ({ intA, intB }: { intA: string; intB: string }) => ({ SubtractResult: Number(intA) - Number(intB) }),
    Multiply: ({ intA, intB }: { intA: string; intB: string }) => {
      if (Number(intA) === 999) throw fault(server, 'Calculator backend unavailable');
      return { MultiplyResult: Number(intA) * Number(intB) };
    },
    Divide: ({ intA, intB }: { intA: string; intB: string }) => {
      if (Number(intB) === 0) throw fault(client, 'Attempted to divide by zero.');
      return { DivideResult: Math.trunc(Number(intA) / Number(intB)) };
    },
  };
}

export async function startSoapCalculator(): Promise<SoapCalculator> {
  const wsdl = readFileSync(join(__dirname, '../fixtures/calculator.wsdl'), 'utf8');
  const http = createServer();
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const state = { basicAuth: [] as string[], usernameTokens: [] as Array<{ username: string; password: unknown }>, contentTypes: [] as string[], requests: 0, wsdlFetches: 0 };
  const soap11 = calculator(fault11, 'soap:Client', 'soap:Server');
  const soap12 = calculator(fault12, 'soap:Sender', 'soap:Receiver');
  const servers = {
    '/calculator.asmx': soap.listen(http, { path: '/calculator.asmx', services: { Calculator: { CalculatorSoap: soap11, CalculatorSoap12: soap11 } }, xml: wsdl }),
    '/calculator12.asmx': soap.listen(http, { path: '/calculator12.asmx', services: { Calculator: { CalculatorSoap: soap12, CalculatorSoap12: soap12 } }, xml: wsdl, forceSoap12Headers: true }),
  };
  for (const [path, server] of Object.entries(servers)) {
    server.authorizeConnection = (req: IncomingMessage) => {
      // Each listener sees every request (soap.listen chains them): count only those for its own path.
      if (new URL(req.url ?? '/', url).pathname !== path) return true;
      if (req.method === 'GET' && /\?wsdl/i.test(req.url ?? '')) state.wsdlFetches += 1;
      if (req.method === 'POST') {
        state.requests += 1;
        state.contentTypes.push(String(req.headers['content-type']));
        if (req.headers.authorization) state.basicAuth.push(req.headers.authorization);
      }
      return true;
    };
    server.authenticate = (security: any) => {
      const token = security?.UsernameToken;
      if (token) state.usernameTokens.push({ username: token.Username, password: token.Password });
      return true;
    };
  }
  return {
    url,
    wsdlUrl: `${url}/calculator.asmx?wsdl`,
    endpoint: `${url}/calculator.asmx`,
    endpoint12: `${url}/calculator12.asmx`,
    get basicAuth() {
      return state.basicAuth;
    },
    get usernameTokens() {
      return state.usernameTokens;
    },
    get contentTypes() {
      return state.contentTypes;
    },
    get requests() {
      return state.requests;
    },
    get wsdlFetches() {
      return state.wsdlFetches;
    },
    close: () =>
      new Promise<void>((r) => {
        http.close(() => r());
        http.closeAllConnections();
      }),
  };
}
