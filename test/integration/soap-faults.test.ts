import { soapWrapper } from '../../lambdas/connectors/soap/wrapper';
import { soapConnectorSchema } from '../../lambdas/connectors/soap/schema';
import { nodeFetch } from '../../lambdas/connectors/transport';
import { isRetryable } from '../../lambdas/domain/retry-policy';
import { ASMX_APPLICATION_EXCEPTION, startSoapCalculator, type SoapCalculator } from '../support/soap-calculator';

/** The SOAP stand-in's faults on the wire, and the wrapper's reading of them (in-process, no hub). */
let calc: SoapCalculator;
beforeAll(async () => {
  calc = await startSoapCalculator();
});
afterAll(() => calc?.close());

const envelope = (ns: string, body: string) =>
  `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${ns}"><soap:Body>${body}</soap:Body></soap:Envelope>`;
const divideByZero = '<Divide xmlns="http://tempuri.org/"><intA>1</intA><intB>0</intB></Divide>';

test('SOAP 1.1: an ASMX exception is HTTP 500 with soap:Server, the "Server was unable to process request. --->" string and an empty detail', async () => {
  const res = await fetch(calc.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"http://tempuri.org/Divide"' },
    body: envelope('http://schemas.xmlsoap.org/soap/envelope/', divideByZero),
  });
  expect(res.status).toBe(500);
  const xml = await res.text();
  expect(xml).toContain('<faultcode>soap:Server</faultcode>');
  expect(xml).toContain(
    `<faultstring>${ASMX_APPLICATION_EXCEPTION.replace('>', '&gt;')} Attempted to divide by zero.</faultstring>`,
  );
  expect(xml).toMatch(/<detail\s*(\/>|><\/detail>)/);
});

test('SOAP 1.2: Code/Value soap:Receiver and Reason/Text with its required xml:lang', async () => {
  const res = await fetch(calc.endpoint12, {
    method: 'POST',
    headers: { 'content-type': 'application/soap+xml; charset=utf-8; action="http://tempuri.org/Divide"' },
    body: envelope('http://www.w3.org/2003/05/soap-envelope', divideByZero),
  });
  expect(res.status).toBe(500);
  const xml = await res.text();
  expect(xml).toContain('<soap:Code><soap:Value>soap:Receiver</soap:Value></soap:Code>');
  expect(xml).toMatch(
    /<soap:Reason><soap:Text xml:lang="en">Server was unable to process request\. ---&gt; Attempted to divide by zero\.<\/soap:Text><\/soap:Reason>/,
  );
});

test('the wrapper reads both: the application exception is final, a Receiver fault without one is retryable', async () => {
  const connector = soapConnectorSchema.parse({
    connectorId: 'calc-inproc',
    type: 'soap',
    wsdlUrl: calc.wsdlUrl,
    endpoint: calc.endpoint12,
    soapVersion: '1.2',
    operations: {
      divide: { operation: 'Divide', service: 'Calculator', port: 'CalculatorSoap12' },
      multiply: { operation: 'Multiply', service: 'Calculator', port: 'CalculatorSoap12' },
    },
  });
  const deps = { secrets: { get: async () => '' }, fetch: nodeFetch };
  const fail = (operationName: string, payload: unknown) =>
    soapWrapper.call({ connector, operationName, payload, jobId: 'j' }, deps).then(
      () => undefined,
      (e: unknown) => e,
    );
  const exception = await fail('divide', { intA: 1, intB: 0 });
  expect(exception).toMatchObject({
    code: 'UPSTREAM_SOAP_FAULT',
    message: `SOAP Fault soap:Receiver: ${ASMX_APPLICATION_EXCEPTION} Attempted to divide by zero.`,
  });
  expect(isRetryable(exception)).toBe(false);
  const outage = await fail('multiply', { intA: 999, intB: 1 });
  expect(outage).toMatchObject({
    code: 'UPSTREAM_SOAP_FAULT',
    message: 'SOAP Fault soap:Receiver: Calculator backend unavailable',
  });
  expect(isRetryable(outage)).toBe(true);
});
