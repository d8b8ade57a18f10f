import { parseConnector } from '../../../lambdas/connectors/schema';
import { errorsOf, salesforceRow } from '../../support/connectors';

const sf = salesforceRow;

test('a salesforce row gets its defaults; a delivery-only connector needs no operations', () => {
  const r = parseConnector(sf());
  expect(r).toMatchObject({
    ok: true,
    connector: { type: 'salesforce', apiVersion: '62.0', operations: {}, retry: { maxAttempts: 3 } },
  });
  const q = parseConnector(
    sf({
      operations: {
        find: { action: 'query', soql: 'SELECT Id FROM Account WHERE Name = :name' },
        batch: { action: 'composite' },
      },
    }),
  );
  expect(q).toMatchObject({
    ok: true,
    connector: { operations: { find: { maxRecords: 2000 }, batch: { allOrNone: true } } },
  });
});

test('each action is checked with its own fields', () => {
  expect(errorsOf(sf({ operations: { up: { action: 'upsert', sobject: 'Contact' } } }))).toEqual([
    '$.operations.up.externalIdField: is required',
  ]);
  expect(errorsOf(sf({ operations: { ev: { action: 'publishEvent', sobject: 'Account' } } }))).toEqual([
    '$.operations.ev.sobject: must be a Platform Event (API name ending in "__e")',
  ]);
  expect(errorsOf(sf({ operations: { q: { action: 'query', soql: 'DELETE FROM Account' } } }))).toEqual([
    '$.operations.q.soql: must be a SOQL SELECT statement',
  ]);
  expect(errorsOf(sf({ operations: { c: { action: 'create', sobject: 'Account; DROP' } } }))[0]).toMatch(
    /^\$\.operations\.c\.sobject: must be a Salesforce API name/,
  );
  expect(errorsOf(sf({ operations: { c: { action: 'create', sobject: 'Account', method: 'POST' } } }))[0]).toMatch(
    /^\$\.operations\.c: Unrecognized key: "method"/,
  );
  expect(errorsOf(sf({ apiVersion: 'v62' }))).toEqual(['$.apiVersion: must look like "62.0"']);
});

test('secrets are references only: an inline client secret or private key is refused', () => {
  expect(errorsOf(sf({ auth: { type: 'clientCredentials', clientId: 'cid', clientSecret: 'plain' } }))[0]).toMatch(
    /^\$\.auth\.clientSecret/,
  );
  expect(
    errorsOf(sf({ auth: { type: 'jwtBearer', clientId: 'cid', username: 'u@x', privateKey: '-----BEGIN' } }))[0],
  ).toMatch(/^\$\.auth\.privateKey/);
});

test('the client credentials flow needs the My Domain URL: login.salesforce.com and test.salesforce.com are refused', () => {
  for (const loginUrl of ['https://login.salesforce.com', 'https://test.salesforce.com/']) {
    expect(errorsOf(sf({ loginUrl }))).toEqual([
      `$.loginUrl: must be the org's My Domain URL (https://<domain>.my.salesforce.com) for the client credentials flow`,
    ]);
  }
  expect(
    errorsOf(
      sf({
        loginUrl: 'https://login.salesforce.com',
        auth: { type: 'jwtBearer', clientId: 'cid', username: 'u@x', privateKey: { secret: 'k' } },
      }),
    ),
  ).toEqual([]);
});

describe('delivery (any connector type)', () => {
  const rest = (delivery: unknown) => ({
    connectorId: 'erp',
    type: 'rest',
    baseUrl: 'https://erp.example.com',
    operations: { getOrder: { method: 'GET', path: '/orders/{id}' } },
    delivery,
  });

  test('per operation or "*", with defaults', () => {
    const r = parseConnector(
      rest({
        getOrder: {
          connectorId: 'sf',
          recordUpdate: { sobject: 'Opportunity', fields: { ERP_Status__c: 'result.data.status' } },
        },
        '*': { connectorId: 'sf', platformEvent: {} },
      }),
    );
    expect(r).toMatchObject({
      ok: true,
      connector: {
        delivery: {
          getOrder: { on: ['SUCCEEDED', 'FAILED'], recordUpdate: { sobject: 'Opportunity' } },
          '*': { platformEvent: { sobject: 'Callout_Result__e' } },
        },
      },
    });
  });

  test('refused: unknown operation, nothing to deliver, bad JMESPath, event name, unknown key', () => {
    expect(errorsOf(rest({ nope: { connectorId: 'sf', platformEvent: {} } }))).toEqual([
      '$.delivery.nope: names no operation of this connector',
    ]);
    expect(errorsOf(rest({ getOrder: { connectorId: 'sf' } }))).toEqual([
      '$.delivery.getOrder: must declare recordUpdate, platformEvent or both',
    ]);
    expect(
      errorsOf(
        rest({ getOrder: { connectorId: 'sf', recordUpdate: { sobject: 'Case', fields: { A__c: 'result.[' } } } }),
      )[0],
    ).toMatch(/^\$\.delivery\.getOrder\.recordUpdate\.fields\.A__c: is not a valid JMESPath expression/);
    expect(errorsOf(rest({ getOrder: { connectorId: 'sf', recordUpdate: { sobject: 'Case', fields: {} } } }))).toEqual([
      '$.delivery.getOrder.recordUpdate.fields: must map at least one field',
    ]);
    expect(errorsOf(rest({ getOrder: { connectorId: 'sf', platformEvent: { sobject: 'Task' } } }))).toEqual([
      '$.delivery.getOrder.platformEvent.sobject: must be a Platform Event (API name ending in "__e")',
    ]);
    expect(errorsOf(rest({ getOrder: { connectorId: 'sf', platformEvent: {}, on: [] } }))[0]).toMatch(
      /^\$\.delivery\.getOrder\.on/,
    );
    expect(errorsOf(rest({ getOrder: { connectorId: 'sf', platformEvent: {}, url: 'x' } }))[0]).toMatch(
      /Unrecognized key: "url"/,
    );
  });
});
