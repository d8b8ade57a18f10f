import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as soap from 'soap';

/* eslint-disable @typescript-eslint/only-throw-error -- soap.listen answers a thrown { Fault } object (not an Error) with a SOAP Fault */

/**
 * A real SOAP service on 127.0.0.1: the public Calculator WSDL (test/fixtures) served
 * with soap.listen, SOAP 1.1 at /calculator.asmx and SOAP 1.2 (1.2 envelopes and
 * Code/Reason faults) at /calculator12.asmx. Every request's credentials and
 * content type are recorded for the tests.
 *
 * Faults are those an ASMX (.NET) service sends, HTTP 500 each:
 * - an exception in the service's code (Divide by zero) is a Server (1.1) / Receiver
 *   (1.2) fault whose faultstring ASMX prefixes with "Server was unable to process
 *   request. --->", with an empty detail (recorded ASMX answers; the public calculator
 *   this WSDL comes from answers its divide by zero so);
 * - a request ASMX cannot read (an intA that is not an integer) is a Client / Sender
 *   fault "Server was unable to read request. ---> There is an error in XML document ...";
 * - Multiply with intA 999 is a server fault that reports no exception (as a gateway
 *   or a service outage would): "Calculator backend unavailable".
 * SOAP 1.2 faults follow https://www.w3.org/TR/soap12-part1/#soapfault: Code/Value,
 * Reason/Text with its required xml:lang, Detail.
 */
export interface SoapCalculator {
  url: string;
  wsdlUrl: string;
  endpoint: string;
  /** The SOAP 1.2 listener (the WSDL names one address for both bindings; soap.listen binds by path). */
  endpoint12: string;
  basicAuth: string[];
  traceparents: Array<string | undefined>;
  usernameTokens: Array<{ username: string; password: unknown }>;
  /** Content-Type of each SOAP POST: text/xml for 1.1, application/soap+xml for 1.2. */
  contentTypes: string[];
  requests: number;
  /** GET ...?wsdl requests: clients should fetch the WSDL once per process. */
  wsdlFetches: number;
  close(): Promise<void>;
}

type FaultKind = 'client' | 'server';
const fault11 = (kind: FaultKind, text: string) => ({
  Fault: {
    faultcode: kind === 'client' ? 'soap:Client' : 'soap:Server',
    faultstring: text,
    detail: '',
    statusCode: 500,
  },
});
const fault12 = (kind: FaultKind, text: string) => ({
  Fault: {
    Code: { Value: kind === 'client' ? 'soap:Sender' : 'soap:Receiver' },
    Reason: { Text: { attributes: { 'xml:lang': 'en' }, $value: text } },
    Detail: '',
    statusCode: 500,
  },
});

/** ASMX's wording for an unhandled exception and for a request it could not deserialize. */
export const ASMX_APPLICATION_EXCEPTION = 'Server was unable to process request. --->';
const int = (fault: (kind: FaultKind, text: string) => object, value: string) => {
  if (!/^-?\d+$/.test(String(value)))
    throw fault(
      'client',
      'Server was unable to read request. ---> There is an error in XML document (1, 285). ---> Input string was not in a correct format.',
    );
  return Number(value);
};

function calculator(fault: (kind: FaultKind, text: string) => object) {
  return {
    Add: ({ intA, intB }: { intA: string; intB: string }) => ({ AddResult: int(fault, intA) + int(fault, intB) }),
    Subtract: ({ intA, intB }: { intA: string; intB: string }) => ({
      SubtractResult: int(fault, intA) - int(fault, intB),
    }),
    Multiply: ({ intA, intB }: { intA: string; intB: string }) => {
      if (int(fault, intA) === 999) throw fault('server', 'Calculator backend unavailable');
      return { MultiplyResult: int(fault, intA) * int(fault, intB) };
    },
    Divide: ({ intA, intB }: { intA: string; intB: string }) => {
      if (int(fault, intB) === 0) throw fault('server', `${ASMX_APPLICATION_EXCEPTION} Attempted to divide by zero.`);
      return { DivideResult: Math.trunc(int(fault, intA) / int(fault, intB)) };
    },
  };
}

export async function startSoapCalculator(): Promise<SoapCalculator> {
  const wsdl = readFileSync(join(__dirname, '../fixtures/calculator.wsdl'), 'utf8');
  const http = createServer();
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const state = {
    traceparents: [] as Array<string | undefined>,
    basicAuth: [] as string[],
    usernameTokens: [] as Array<{ username: string; password: unknown }>,
    contentTypes: [] as string[],
    requests: 0,
    wsdlFetches: 0,
  };
  const soap11 = calculator(fault11);
  const soap12 = calculator(fault12);
  const servers = {
    '/calculator.asmx': soap.listen(http, {
      path: '/calculator.asmx',
      services: { Calculator: { CalculatorSoap: soap11, CalculatorSoap12: soap11 } },
      xml: wsdl,
    }),
    '/calculator12.asmx': soap.listen(http, {
      path: '/calculator12.asmx',
      services: { Calculator: { CalculatorSoap: soap12, CalculatorSoap12: soap12 } },
      xml: wsdl,
      forceSoap12Headers: true,
    }),
  };
  for (const [path, server] of Object.entries(servers)) {
    server.authorizeConnection = (req: IncomingMessage) => {
      // Each listener sees every request (soap.listen chains them): count only those for its own path.
      if (new URL(req.url ?? '/', url).pathname !== path) return true;
      if (req.method === 'GET' && /\?wsdl/i.test(req.url ?? '')) state.wsdlFetches += 1;
      if (req.method === 'POST') {
        state.requests += 1;
        state.contentTypes.push(String(req.headers['content-type']));
        state.traceparents.push(req.headers.traceparent as string | undefined);
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
    /** The traceparent header of each SOAP request (undefined: none). */
    get traceparents() {
      return state.traceparents;
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
