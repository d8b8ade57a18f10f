import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as soap from 'soap';

/**
 * A real SOAP service on 127.0.0.1: the public Calculator WSDL (test/fixtures) served
 * with soap.listen. Faults: Divide by zero is a client fault; Multiply with intA 999
 * is a server fault. Every request's credentials are recorded for the tests.
 */
export interface SoapCalculator {
  url: string;
  wsdlUrl: string;
  endpoint: string;
  basicAuth: string[];
  usernameTokens: Array<{ username: string; password: unknown }>;
  requests: number;
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
  const state = { basicAuth: [] as string[], usernameTokens: [] as Array<{ username: string; password: unknown }>, requests: 0 };
  const service = {
    Calculator: {
      CalculatorSoap: calculator(fault11, 'soap:Client', 'soap:Server'),
      CalculatorSoap12: calculator(fault12, 'soap:Sender', 'soap:Receiver'),
    },
  };
  const server = soap.listen(http, '/calculator.asmx', service, wsdl);
  server.authorizeConnection = (req: IncomingMessage) => {
    if (req.method === 'POST') {
      state.requests += 1;
      if (req.headers.authorization) state.basicAuth.push(req.headers.authorization);
    }
    return true;
  };
  server.authenticate = (security: any) => {
    const token = security?.UsernameToken;
    if (token) state.usernameTokens.push({ username: token.Username, password: token.Password });
    return true;
  };
  return {
    url,
    wsdlUrl: `${url}/calculator.asmx?wsdl`,
    endpoint: `${url}/calculator.asmx`,
    get basicAuth() {
      return state.basicAuth;
    },
    get usernameTokens() {
      return state.usernameTokens;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((r) => {
        http.close(() => r());
        http.closeAllConnections();
      }),
  };
}
