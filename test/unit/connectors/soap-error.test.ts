import { UpstreamHttpError, UpstreamNetworkError, UpstreamTimeoutError } from '../../../lambdas/connectors/errors';
import { soapError } from '../../../lambdas/connectors/soap/wrapper';
import { isRetryable } from '../../../lambdas/domain/retry-policy';

/** Errors shaped as the soap library throws them (err.root is the parsed fault envelope, err.response the axios response). */
const faultError = (fault: object, status = 500) => Object.assign(new Error('fault'), { root: { Envelope: { Body: { Fault: fault } } }, response: { status, headers: {} } });

describe('soapError', () => {
  test.each([
    [{ faultcode: 'soap:Client', faultstring: 'Bad input' }, 'SOAP Fault soap:Client: Bad input', false],
    [{ faultcode: 'soap:Server', faultstring: 'Backend down' }, 'SOAP Fault soap:Server: Backend down', true],
    [{ Code: { Value: 'env:Sender' }, Reason: { Text: { $value: 'Bad input', attributes: { 'xml:lang': 'en' } } } }, 'SOAP Fault env:Sender: Bad input', false],
    [{ Code: { Value: 'env:Receiver' }, Reason: { Text: 'Later' } }, 'SOAP Fault env:Receiver: Later', true],
  ])('fault %j', (fault, message, retryable) => {
    const err = soapError(faultError(fault), 1000, 'x');
    expect(err).toMatchObject({ code: 'UPSTREAM_SOAP_FAULT', message, statusCode: 500 });
    expect(isRetryable(err)).toBe(retryable);
  });

  test('transport failures map to the standard errors', () => {
    expect(soapError(Object.assign(new Error('timeout of 1000ms exceeded'), { code: 'ECONNABORTED' }), 1000, 'x')).toBeInstanceOf(UpstreamTimeoutError);
    const refused = soapError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 1000, 'http://127.0.0.1:9');
    expect(refused).toBeInstanceOf(UpstreamNetworkError);
    expect(isRetryable(refused)).toBe(true);
    const http = soapError(Object.assign(new Error('503'), { response: { status: 503, headers: { 'retry-after': '7' } } }), 1000, 'x');
    expect(http).toBeInstanceOf(UpstreamHttpError);
    expect(http).toMatchObject({ statusCode: 503, details: { retryAfterMs: 7000 } });
  });

  test('anything else (bad WSDL, bad input) is not retried', () => {
    const err = soapError(new Error('Unexpected root element of WSDL'), 1000, 'x');
    expect(err).toMatchObject({ code: 'UPSTREAM_SOAP_ERROR' });
    expect(isRetryable(err)).toBe(false);
  });
});
