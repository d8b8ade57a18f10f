import { soapError } from '../../../lambdas/connectors/soap/wrapper';
import { isRetryable } from '../../../lambdas/domain/retry-policy';
import { UpstreamHttpError, UpstreamNetworkError, UpstreamTimeoutError } from '../../../lambdas/shared/errors';

/** Errors shaped as the soap library throws them (err.root is the parsed fault envelope, err.response the axios response). */
const faultError = (fault: object, status = 500) =>
  Object.assign(new Error('fault'), {
    root: { Envelope: { Body: { Fault: fault } } },
    response: { status, headers: {} },
  });

describe('soapError', () => {
  test.each([
    [{ faultcode: 'soap:Client', faultstring: 'Bad input' }, 'SOAP Fault soap:Client: Bad input', false],
    [{ faultcode: 'soap:Server', faultstring: 'Backend down' }, 'SOAP Fault soap:Server: Backend down', true],
    [
      { Code: { Value: 'env:Sender' }, Reason: { Text: { $value: 'Bad input', attributes: { 'xml:lang': 'en' } } } },
      'SOAP Fault env:Sender: Bad input',
      false,
    ],
    [{ Code: { Value: 'env:Receiver' }, Reason: { Text: 'Later' } }, 'SOAP Fault env:Receiver: Later', true],
  ])('fault %j', (fault, message, retryable) => {
    const err = soapError(faultError(fault), 1000, 'x');
    expect(err).toMatchObject({ code: 'UPSTREAM_SOAP_FAULT', message, statusCode: 500 });
    expect(isRetryable(err)).toBe(retryable);
  });

  // Recorded ASMX faults (an unhandled exception in the service's code): 1.1 with customErrors on and off, and 1.2.
  const asmx11 = {
    faultcode: 'soap:Server',
    faultstring: 'Server was unable to process request. ---> Attempted to divide by zero.',
    detail: '',
  };
  const asmx11Debug = {
    faultcode: 'soap:Server',
    faultstring:
      'System.Web.Services.Protocols.SoapException: Server was unable to process request. ---> System.DivideByZeroException: Attempted to divide by zero.\n   at Calculator.Divide(Int32 intA, Int32 intB)\n   --- End of inner exception stack trace ---',
    detail: '',
  };
  const asmx12 = {
    Code: { Value: 'soap:Receiver' },
    Reason: {
      Text: {
        attributes: { 'xml:lang': 'en' },
        $value: 'Server was unable to process request. ---> Object reference not set to an instance of an object.',
      },
    },
    Detail: '',
  };
  const wcf = {
    faultcode: 's:Server',
    faultstring: 'Input string was not in a correct format.',
    detail: {
      ExceptionDetail: { Message: 'Input string was not in a correct format.', Type: 'System.FormatException' },
    },
  };

  test.each([
    ['ASMX 1.1', asmx11],
    ['ASMX 1.1 with the exception type', asmx11Debug],
    ['ASMX 1.2', asmx12],
    ['WCF ExceptionDetail', wcf],
  ])('a server fault reporting an application exception (%s) is not retried by default', (_name, fault) => {
    const err = soapError(faultError(fault), 1000, 'x');
    expect(err).toMatchObject({ code: 'UPSTREAM_SOAP_FAULT' });
    expect(isRetryable(err)).toBe(false);
    // ...unless the operation says its server faults pass
    expect(isRetryable(soapError(faultError(fault), 1000, 'x', { retryOnServerFault: true }))).toBe(true);
  });

  test('retryOnServerFault: false stops retries of every server fault; client faults are never retried', () => {
    expect(
      isRetryable(
        soapError(faultError({ faultcode: 'soap:Server', faultstring: 'Backend down' }), 1000, 'x', {
          retryOnServerFault: false,
        }),
      ),
    ).toBe(false);
    expect(
      isRetryable(
        soapError(faultError({ faultcode: 'soap:Client', faultstring: 'Bad input' }), 1000, 'x', {
          retryOnServerFault: true,
        }),
      ),
    ).toBe(false);
  });

  test('transport failures map to the standard errors', () => {
    expect(
      soapError(Object.assign(new Error('timeout of 1000ms exceeded'), { code: 'ECONNABORTED' }), 1000, 'x'),
    ).toBeInstanceOf(UpstreamTimeoutError);
    const refused = soapError(
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      1000,
      'http://127.0.0.1:9',
    );
    expect(refused).toBeInstanceOf(UpstreamNetworkError);
    expect(isRetryable(refused)).toBe(true);
    const http = soapError(
      Object.assign(new Error('503'), { response: { status: 503, headers: { 'retry-after': '7' } } }),
      1000,
      'x',
    );
    expect(http).toBeInstanceOf(UpstreamHttpError);
    expect(http).toMatchObject({ statusCode: 503, details: { retryAfterMs: 7000 } });
  });

  test('anything else (bad WSDL, bad input) is not retried', () => {
    const err = soapError(new Error('Unexpected root element of WSDL'), 1000, 'x');
    expect(err).toMatchObject({ code: 'UPSTREAM_SOAP_ERROR' });
    expect(isRetryable(err)).toBe(false);
  });
});
