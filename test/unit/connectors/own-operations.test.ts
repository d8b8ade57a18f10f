import { wrappers } from '../../../lambdas/connectors';
import { operationOf, ownEntry } from '../../../lambdas/connectors/common';
import { connectorSchema, parseConnector, type Connector } from '../../../lambdas/connectors/schema';
import type { WrapperDeps } from '../../../lambdas/connectors/types';

/**
 * A caller names the operation; a connector's operations are a plain object
 * from its row. `constructor`, `toString` and friends must name nothing unless
 * the row defines them, in every wrapper (the worker runs whatever the job says).
 */
const rows: Record<Connector['type'], unknown> = {
  rest: {
    connectorId: 'r',
    type: 'rest',
    baseUrl: 'http://127.0.0.1:9',
    operations: { get: { method: 'GET', path: '/' } },
  },
  soap: {
    connectorId: 's',
    type: 'soap',
    wsdlUrl: 'http://127.0.0.1:9/?wsdl',
    operations: { add: { operation: 'Add' } },
  },
  slack: {
    connectorId: 'sl',
    type: 'slack',
    botToken: { secret: 'bot' },
    operations: { post: { action: 'postMessage' } },
  },
  viber: {
    connectorId: 'v',
    type: 'viber',
    authToken: { secret: 't' },
    sender: { name: 'Bot' },
    operations: { send: { action: 'sendMessage' } },
  },
  salesforce: {
    connectorId: 'sf',
    type: 'salesforce',
    loginUrl: 'http://127.0.0.1:9',
    auth: { type: 'clientCredentials', clientId: 'app', clientSecret: { secret: 'cs' } },
    operations: { q: { action: 'query', soql: 'SELECT Id FROM Account' } },
  },
};

const nothingCalled: WrapperDeps = {
  secrets: { get: async () => 'secret-value' },
  fetch: async () => {
    throw new Error('no request may be sent');
  },
};

const inherited = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__'];

describe.each(Object.keys(rows) as Array<Connector['type']>)('the %s wrapper', (type) => {
  // The fixtures' services are on loopback, as the local hub allows.
  const parsed = parseConnector(rows[type], { allowPrivate: true });
  if (!parsed.ok) throw new Error(`fixture row for ${type} is invalid: ${parsed.errors.join('; ')}`);
  const connector = parsed.connector;

  test.each(inherited)('operation %s -> OPERATION_NOT_FOUND, nothing sent', async (operationName) => {
    const wrapper = wrappers[type] as { call: (r: unknown, d: WrapperDeps) => Promise<unknown> };
    await expect(
      wrapper.call(
        { connector, operationName, payload: { receiver: 'u', text: 'x', channel: 'c' }, jobId: 'job-1' },
        nothingCalled,
      ),
    ).rejects.toMatchObject({
      code: 'OPERATION_NOT_FOUND',
    });
  });
});

test('ownEntry finds own keys only, including a row that really defines "constructor"', () => {
  const row = connectorSchema.parse({
    connectorId: 'r',
    type: 'rest',
    baseUrl: 'http://127.0.0.1:9',
    operations: { constructor: { method: 'GET', path: '/c' } },
  });
  const operations: Record<string, unknown> = row.operations;
  expect(ownEntry(operations, 'constructor')).toMatchObject({ path: '/c' });
  expect(ownEntry(operations, 'toString')).toBeUndefined();
  expect(ownEntry(undefined, 'x')).toBeUndefined();
});

test('operationOf gives the named own operation, or OPERATION_NOT_FOUND naming the connector and operation', () => {
  const connector = { connectorId: 'r', operations: { get: { method: 'GET', path: '/' } } };
  expect(operationOf({ connector, operationName: 'get' })).toMatchObject({ method: 'GET', path: '/' });
  expect(() => operationOf({ connector, operationName: 'toString' })).toThrow(
    expect.objectContaining({ code: 'OPERATION_NOT_FOUND', message: 'Connector "r" has no operation "toString"' }),
  );
});

test('a delivery key must name an own operation of the row', () => {
  const row = {
    connectorId: 'r',
    type: 'rest',
    baseUrl: 'http://127.0.0.1:9',
    operations: { get: { method: 'GET', path: '/' } },
  };
  const bad = parseConnector({
    ...row,
    delivery: { toString: { connectorId: 'sf', platformEvent: { name: 'E__e', fields: { A__c: 'job.jobId' } } } },
  });
  expect(bad.ok ? [] : bad.errors.join('\n')).toMatch(/\$\.delivery\.toString: names no operation/);
});
