import { salesforceConnectorSchema, type SalesforceConnector } from '../../lambdas/connectors/salesforce/schema';
import { sessionCache } from '../../lambdas/connectors/salesforce/session';
import { salesforceWrapper } from '../../lambdas/connectors/salesforce/wrapper';
import { nodeFetch } from '../../lambdas/connectors/transport';
import type { WrapperDeps } from '../../lambdas/connectors/types';
import { isRetryable } from '../../lambdas/domain/retry-policy';
import { generateTestKeyPair, startFakeSalesforce, type FakeSalesforce } from '../../local/fake-salesforce';
import { RequestPreparationError, UpstreamError } from '../../lambdas/shared/errors';

/** The salesforce wrapper (jsforce) against the local Salesforce stand-in on 127.0.0.1. */
const CLIENT_SECRET = 'cc-secret-value-42';
const keys = generateTestKeyPair();
const otherKeys = generateTestKeyPair();
let sf: FakeSalesforce;

const secrets: Record<string, string> = {
  'client-secret': CLIENT_SECRET,
  'private-key': keys.privateKeyPem,
  'wrong-key': otherKeys.privateKeyPem,
  username: 'integration@acme.test',
};
const deps: WrapperDeps = {
  secrets: { get: async (_c, name) => secrets[name]! },
  fetch: nodeFetch, // the worker's transport
};

const operations = {
  createAccount: { action: 'create', sobject: 'Account' },
  updateAccount: { action: 'update', sobject: 'Account' },
  upsertContact: { action: 'upsert', sobject: 'Contact', externalIdField: 'Ext_Id__c' },
  contactsWithAccount: {
    action: 'query',
    soql: 'select id, lastname, account.name from contact where ext_id__c = :ext',
    response: 'records[].{id: Id, last: LastName, account: Account.Name}',
  },
  rawContacts: {
    action: 'query',
    soql: 'select Id, LastName, Account.Name, Account.Industry from CONTACT where LastName = :last',
  },
  bigNumbers: { action: 'query', soql: 'SELECT Id, Name, Ledger_Id__c FROM Account WHERE Name = :name' },
  findAccounts: {
    action: 'query',
    soql: 'SELECT Id, Name, Industry FROM Account WHERE Industry = :industry',
    maxRecords: 5,
  },
  findByName: { action: 'query', soql: 'SELECT Id, Name FROM Account WHERE Name = :name' },
  notify: { action: 'publishEvent', sobject: 'Order_Shipped__e' },
  batch: { action: 'composite' },
  partial: { action: 'composite', allOrNone: false },
  mapped: {
    action: 'create',
    sobject: 'Lead',
    request: '{LastName: payload.customer.last, Company: payload.customer.company, Source_Record__c: recordId}',
    response: 'id',
  },
};

function connector(extra: Record<string, unknown> = {}): SalesforceConnector {
  return salesforceConnectorSchema.parse({
    connectorId: 'sf',
    type: 'salesforce',
    loginUrl: sf.loginUrl,
    auth: { type: 'clientCredentials', clientId: 'crm-bridge-app', clientSecret: { secret: 'client-secret' } },
    timeoutMs: 3000,
    operations,
    ...extra,
  });
}

const call = (
  c: SalesforceConnector,
  operationName: string,
  payload: unknown,
  recordId?: string,
  traceparent?: string,
) =>
  salesforceWrapper.call(
    {
      connector: c,
      operationName,
      payload,
      jobId: 'job-x',
      ...(recordId && { recordId }),
      ...(traceparent && { traceparent }),
    },
    deps,
  );

async function failure(p: Promise<unknown>): Promise<UpstreamError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}

beforeAll(async () => {
  sf = await startFakeSalesforce({
    clients: [{ clientId: 'crm-bridge-app', clientSecret: CLIENT_SECRET }],
    jwtApps: [{ clientId: 'jwt-app', publicKeyPem: keys.publicKeyPem, usernames: ['integration@acme.test'] }],
    pageSize: 2,
    requiredFields: { Account: ['Name'], Contact: ['LastName'] },
  });
});
afterAll(() => sf.close());
beforeEach(() => {
  sf.reset();
  sessionCache.clear();
});

test("the call's traceparent goes on every API request (record and query), not on the login", async () => {
  const span = '00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01';
  const c = connector();
  await call(c, 'createAccount', { Name: 'Traced' }, undefined, span);
  await call(c, 'findByName', { name: 'Traced' }, undefined, span);
  expect(sf.calls.length).toBeGreaterThanOrEqual(2);
  expect(sf.calls.map((x) => x.traceparent)).toEqual(sf.calls.map(() => span));
  await call(c, 'createAccount', { Name: 'Untraced' });
  expect(sf.calls.at(-1)!.traceparent).toBeUndefined();
});

describe('sessions', () => {
  test('one login serves many calls, on the instance URL the login returned, with the configured API version', async () => {
    const c = connector({ apiVersion: '61.0' });
    for (let i = 0; i < 6; i++) await call(c, 'createAccount', { Name: `Acme ${i}` });
    await call(c, 'findByName', { name: 'Acme 3' });
    expect(sf.tokenRequests).toEqual([{ grantType: 'client_credentials', clientId: 'crm-bridge-app', ok: true }]);
    expect(sf.calls).toHaveLength(7);
    expect(new Set(sf.calls.map((x) => x.version))).toEqual(new Set(['61.0']));
    expect(new Set(sf.calls.map((x) => x.accessToken)).size).toBe(1);
    expect(sf.calls[0]!.callOptions).toBe('client=crm-bridge');
    expect(sf.loginUrl).not.toBe(sf.instanceUrl);
  });

  test('an expired session (INVALID_SESSION_ID) costs exactly one new login, and the call succeeds', async () => {
    const c = connector();
    await call(c, 'createAccount', { Name: 'Before' });
    sf.expireSessions();
    const result = await call(c, 'createAccount', { Name: 'After' });
    expect(result).toMatchObject({ statusCode: 201, data: { success: true } });
    expect(sf.tokenRequests).toHaveLength(2);
    expect(sf.calls.map((x) => x.path)).toEqual(['/sobjects/Account', '/sobjects/Account', '/sobjects/Account']);
    expect([...sf.records.values()].map((r) => r.Name)).toEqual(['Before', 'After']);
    // The new session is cached in turn.
    await call(c, 'createAccount', { Name: 'Again' });
    expect(sf.tokenRequests).toHaveLength(2);
  });

  test('a session refused again right after the refresh fails the call: one refresh only', async () => {
    const c = connector();
    sf.fail(
      'POST /sobjects/Account',
      { status: 401, errors: [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }] },
      2,
    );
    const err = await failure(call(c, 'createAccount', { Name: 'X' }));
    expect(err).toMatchObject({ code: 'UPSTREAM_SALESFORCE_ERROR', statusCode: 401 });
    expect(err.message).toContain('INVALID_SESSION_ID');
    expect(isRetryable(err)).toBe(false);
    expect(sf.tokenRequests).toHaveLength(2);
    expect(sf.records.size).toBe(0);
  });

  test('JWT bearer: the stand-in verifies the RS256 signature, issuer, subject, audience (login.salesforce.com) and a 3-minute exp', async () => {
    const c = connector({
      auth: {
        type: 'jwtBearer',
        clientId: 'jwt-app',
        username: { secret: 'username' },
        privateKey: { secret: 'private-key' },
        audience: 'https://login.salesforce.com',
      },
    });
    const before = Math.floor(Date.now() / 1000);
    await call(c, 'createAccount', { Name: 'Via JWT' });
    await call(c, 'createAccount', { Name: 'Via JWT 2' });
    expect(sf.tokenRequests).toHaveLength(1);
    expect(sf.tokenRequests[0]).toMatchObject({
      grantType: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      ok: true,
      jwt: { claims: { iss: 'jwt-app', sub: 'integration@acme.test', aud: 'https://login.salesforce.com' } },
    });
    const exp = sf.tokenRequests[0]!.jwt!.claims.exp as number;
    expect(exp - before).toBeGreaterThan(0);
    expect(exp - before).toBeLessThanOrEqual(180);
  });

  test("JWT bearer for another audience (here the login host's own origin) is refused as Salesforce does", async () => {
    const c = connector({
      auth: {
        type: 'jwtBearer',
        clientId: 'jwt-app',
        username: 'integration@acme.test',
        privateKey: { secret: 'private-key' },
      },
    });
    const err = await failure(call(c, 'createAccount', { Name: 'X' }));
    expect(err).toMatchObject({ code: 'SALESFORCE_LOGIN_FAILED', statusCode: 400 });
    expect(err.message).toContain('invalid_grant: audience is invalid');
  });

  test('client credentials on the generic login host: invalid_grant "request not supported on this domain", not retried', async () => {
    // The schema refuses login.salesforce.com for this flow; the stand-in's generic host has a loopback address, so it passes.
    const err = await failure(call(connector({ loginUrl: sf.genericLoginUrl }), 'createAccount', { Name: 'X' }));
    expect(err).toMatchObject({ code: 'SALESFORCE_LOGIN_FAILED', statusCode: 400 });
    expect(err.message).toContain('invalid_grant: request not supported on this domain');
    expect(isRetryable(err)).toBe(false);
  });

  test('JWT bearer signed with the wrong key: a login failure that is not retried', async () => {
    const c = connector({
      auth: {
        type: 'jwtBearer',
        clientId: 'jwt-app',
        username: 'integration@acme.test',
        privateKey: { secret: 'wrong-key' },
      },
    });
    const err = await failure(call(c, 'createAccount', { Name: 'X' }));
    expect(err).toMatchObject({ code: 'SALESFORCE_LOGIN_FAILED', statusCode: 400 });
    expect(err.message).toContain('invalid_grant: invalid assertion signature');
    expect(isRetryable(err)).toBe(false);
    expect(sf.calls).toHaveLength(0);
  });

  test('a wrong client secret never appears in the error', async () => {
    const c = connector({
      auth: { type: 'clientCredentials', clientId: 'crm-bridge-app', clientSecret: { secret: 'username' } },
    });
    const err = await failure(call(c, 'createAccount', { Name: 'X' }));
    expect(err.message).toContain('invalid_client');
    expect(JSON.stringify({ message: err.message, details: err.details })).not.toContain('integration@acme.test');
  });
});

describe('operations', () => {
  test('create, then update by the callout recordId or by Id in the payload', async () => {
    const c = connector();
    const created = await call(c, 'createAccount', { Name: 'Acme', Industry: 'Energy' });
    expect(created).toEqual({
      statusCode: 201,
      data: { id: expect.stringMatching(/^001\w{15}$/), success: true, errors: [] },
    });
    const id = (created.data as { id: string }).id;
    expect(await call(c, 'updateAccount', { Industry: 'Retail' }, id)).toEqual({
      statusCode: 204,
      data: { id, success: true, errors: [] },
    });
    expect(sf.records.get(id)).toMatchObject({ Name: 'Acme', Industry: 'Retail' });
    await call(c, 'updateAccount', { Id: id, Name: 'Acme Corp' }, '001000000000000999');
    expect(sf.records.get(id)).toMatchObject({ Name: 'Acme Corp' });
    expect(sf.calls.at(-1)).toMatchObject({
      method: 'PATCH',
      path: `/sobjects/Account/${id}`,
      body: { Name: 'Acme Corp' },
    });
  });

  test('fields named "type" or "attributes" reach Salesforce (jsforce\'s record helpers would drop them)', async () => {
    const c = connector();
    const created = await call(c, 'createAccount', { Name: 'Typed', type: 'Prospect' });
    expect(sf.calls.at(-1)).toMatchObject({
      method: 'POST',
      path: '/sobjects/Account',
      body: { Name: 'Typed', type: 'Prospect' },
    });
    const id = (created.data as { id: string }).id;
    await call(c, 'updateAccount', { type: 'Customer', attributes: 'kept' }, id);
    expect(sf.calls.at(-1)).toMatchObject({
      method: 'PATCH',
      path: `/sobjects/Account/${id}`,
      body: { type: 'Customer', attributes: 'kept' },
    });
    await call(c, 'upsertContact', { Ext_Id__c: 'T-1', LastName: 'Doe', type: 'Partner' });
    expect(sf.calls.at(-1)).toMatchObject({
      method: 'PATCH',
      path: '/sobjects/Contact/Ext_Id__c/T-1',
      body: { LastName: 'Doe', type: 'Partner' },
    });
  });

  test('upsert by external id: created first, updated next; the id is URL-encoded', async () => {
    const c = connector();
    const first = await call(c, 'upsertContact', { Ext_Id__c: 'ERP 7/A', LastName: 'Doe' });
    expect(first).toMatchObject({ statusCode: 201, data: { created: true, success: true } });
    const second = await call(c, 'upsertContact', { Ext_Id__c: 'ERP 7/A', LastName: 'Doe-Smith', Email: 'd@x.test' });
    expect(second).toMatchObject({ statusCode: 200, data: { created: false, id: (first.data as { id: string }).id } });
    expect(sf.calls.map((x) => x.path)).toEqual([
      '/sobjects/Contact/Ext_Id__c/ERP%207%2FA',
      '/sobjects/Contact/Ext_Id__c/ERP%207%2FA',
    ]);
    expect([...sf.records.values()]).toEqual([
      expect.objectContaining({ Ext_Id__c: 'ERP 7/A', LastName: 'Doe-Smith', Email: 'd@x.test' }),
    ]);
  });

  test('upsert: Id or the external id field again in the input is refused before any call (Salesforce refuses it in the body)', async () => {
    const c = connector();
    await expect(
      call(c, 'upsertContact', { Ext_Id__c: 'E-1', Id: '003000000000000001', LastName: 'Doe' }),
    ).rejects.toMatchObject({ code: 'INVALID_PAYLOAD', message: expect.stringContaining('remove "Id"') });
    await expect(
      call(c, 'upsertContact', { Ext_Id__c: 'E-1', ext_id__c: 'E-2', LastName: 'Doe' }),
    ).rejects.toMatchObject({ code: 'INVALID_PAYLOAD', message: expect.stringContaining('remove "ext_id__c"') });
    expect(sf.tokenRequests).toHaveLength(0);
  });

  test('upsert: an external id on several records (HTTP 300) fails, not retried, naming the matching records', async () => {
    const a = sf.seed('Contact', { LastName: 'Twin A', Ext_Id__c: 'DUP-1' });
    const b = sf.seed('Contact', { LastName: 'Twin B', Ext_Id__c: 'DUP-1' });
    const err = await failure(call(connector(), 'upsertContact', { Ext_Id__c: 'DUP-1', LastName: 'Which?' }));
    expect(err).toMatchObject({ code: 'SALESFORCE_MULTIPLE_MATCHES', statusCode: 300 });
    expect(err.message).toContain('matches 2 records');
    expect(err.message).toContain(`/sobjects/Contact/${a}`);
    expect(err.message).toContain(`/sobjects/Contact/${b}`);
    expect(isRetryable(err)).toBe(false);
    expect([...sf.records.values()].map((r) => r.LastName)).toEqual(['Twin A', 'Twin B']);
  });

  test('query: bind values from the payload, pages followed up to maxRecords', async () => {
    const c = connector();
    for (let i = 0; i < 7; i++) sf.seed('Account', { Name: `E${i}`, Industry: i < 6 ? 'Energy' : 'Retail' });
    const result = await call(c, 'findAccounts', { industry: 'Energy' });
    const data = result.data as { totalSize: number; records: Array<Record<string, unknown>> };
    expect(result.statusCode).toBe(200);
    expect(data.totalSize).toBe(6);
    expect(data.records.map((r) => r.Name)).toEqual(['E0', 'E1', 'E2', 'E3', 'E4']);
    expect(sf.calls.map((x) => x.path)).toEqual([
      '/query',
      expect.stringMatching(/^\/query\/01g/),
      expect.stringMatching(/^\/query\/01g/),
    ]);
    expect(sf.calls[0]!.query.q).toBe("SELECT Id, Name, Industry FROM Account WHERE Industry = 'Energy'");
  });

  test('query: a value trying to inject SOQL is only ever a string', async () => {
    const c = connector();
    sf.seed('Account', { Name: "O'Brien" });
    sf.seed('Account', { Name: 'Other' });
    const exact = await call(c, 'findByName', { name: "O'Brien" });
    expect((exact.data as { records: unknown[] }).records).toHaveLength(1);
    const injected = await call(c, 'findByName', { name: "x' OR Name != 'x" });
    expect((injected.data as { records: unknown[] }).records).toHaveLength(0);
  });

  test('publishEvent posts the Platform Event: success with the OPERATION_ENQUEUED entry Salesforce puts in errors', async () => {
    const result = await call(connector(), 'notify', { Order_Number__c: 'SO-1', Shipped__c: true });
    expect(sf.events).toEqual([
      { type: 'Order_Shipped__e', id: expect.any(String), fields: { Order_Number__c: 'SO-1', Shipped__c: true } },
    ]);
    const { id } = sf.events[0]!;
    expect(result).toEqual({
      statusCode: 201,
      data: {
        id,
        success: true,
        errors: [{ statusCode: 'OPERATION_ENQUEUED', message: sf.eventUuids.get(id), fields: [] }],
      },
    });
    expect(sf.eventUuids.get(id)).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('composite allOrNone: an event published immediately stays published when a later subrequest fails', async () => {
    const err = await failure(
      call(connector(), 'batch', {
        compositeRequest: [
          { method: 'POST', url: '/sobjects/Order_Shipped__e', referenceId: 'ev', body: { Order_Number__c: 'SO-9' } },
          { method: 'POST', url: '/sobjects/Contact', referenceId: 'ct', body: { FirstName: 'No last name' } },
        ],
      }),
    );
    expect(err.message).toContain('subrequest ct: REQUIRED_FIELD_MISSING');
    expect(sf.events.map((e) => e.fields)).toEqual([{ Order_Number__c: 'SO-9' }]);
  });

  test("query: relationship fields come nested and in canonical spelling, whatever the query's case", async () => {
    const acme = sf.seed('Account', { Name: 'Acme', Industry: 'Energy' });
    sf.seed('Contact', { LastName: 'Doe', Ext_Id__c: 'C-1', AccountId: acme });
    sf.seed('Contact', { LastName: 'Roe', Ext_Id__c: 'C-2', AccountId: null });
    const raw = await call(connector(), 'rawContacts', { last: 'Doe' });
    expect((raw.data as { records: unknown[] }).records).toEqual([
      {
        attributes: {
          type: 'Contact',
          url: expect.stringMatching(/^\/services\/data\/v62\.0\/sobjects\/Contact\/003/),
        },
        Id: expect.stringMatching(/^003/),
        LastName: 'Doe',
        Account: {
          attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${acme}` },
          Name: 'Acme',
          Industry: 'Energy',
        },
      },
    ]);
    expect(await call(connector(), 'contactsWithAccount', { ext: 'C-1' })).toMatchObject({
      data: [{ id: expect.stringMatching(/^003/), last: 'Doe', account: 'Acme' }],
    });
    expect(await call(connector(), 'contactsWithAccount', { ext: 'C-2' })).toMatchObject({
      data: [{ last: 'Roe', account: null }],
    });
  });

  test('query: a Number(18, 0) value beyond 2^53 reaches the result digit for digit, as a string', async () => {
    sf.seed('Account', { Name: 'Ledger', Ledger_Id__c: 123456789012345678n });
    const result = await call(connector(), 'bigNumbers', { name: 'Ledger' });
    expect((result.data as { records: Array<Record<string, unknown>> }).records[0]).toMatchObject({
      Name: 'Ledger',
      Ledger_Id__c: '123456789012345678',
    });
  });

  test('composite: subrequests with references under the connector version', async () => {
    const result = await call(connector(), 'batch', {
      compositeRequest: [
        { method: 'POST', url: '/sobjects/Account', referenceId: 'acct', body: { Name: 'Parent' } },
        {
          method: 'POST',
          url: '/sobjects/Contact',
          referenceId: 'ct',
          body: { LastName: 'Kid', AccountId: '@{acct.id}' },
        },
      ],
    });
    const responses = (
      result.data as {
        compositeResponse: Array<{ httpStatusCode: number; referenceId: string; httpHeaders: Record<string, string> }>;
      }
    ).compositeResponse;
    expect(responses.map((r) => [r.referenceId, r.httpStatusCode])).toEqual([
      ['acct', 201],
      ['ct', 201],
    ]);
    const [account, contact] = [...sf.records.values()];
    expect(responses.map((r) => r.httpHeaders)).toEqual([
      { Location: `/services/data/v62.0/sobjects/Account/${account!.Id}` },
      { Location: `/services/data/v62.0/sobjects/Contact/${contact!.Id}` },
    ]);
    expect(contact).toMatchObject({ LastName: 'Kid', AccountId: account!.Id });
    expect(sf.calls.filter((x) => x.composite).map((x) => x.version)).toEqual(['62.0', '62.0']);
  });

  test('composite allOrNone: one failing subrequest rolls back all and fails the job with its error', async () => {
    const err = await failure(
      call(connector(), 'batch', {
        compositeRequest: [
          { method: 'POST', url: '/sobjects/Account', referenceId: 'acct', body: { Name: 'Parent' } },
          { method: 'POST', url: '/sobjects/Contact', referenceId: 'ct', body: { FirstName: 'No last name' } },
        ],
      }),
    );
    expect(err.message).toBe(
      'Salesforce answered HTTP 400 for subrequest ct: REQUIRED_FIELD_MISSING: Required fields are missing: [LastName] (fields: LastName)',
    );
    expect(sf.records.size).toBe(0);
    // Without allOrNone the caller gets every subresult, and what succeeded stays.
    const partial = await call(connector(), 'partial', {
      compositeRequest: [
        { method: 'POST', url: '/sobjects/Account', referenceId: 'acct', body: { Name: 'Kept' } },
        { method: 'POST', url: '/sobjects/Contact', referenceId: 'ct', body: {} },
      ],
    });
    expect(
      (partial.data as { compositeResponse: Array<{ httpStatusCode: number }> }).compositeResponse.map(
        (r) => r.httpStatusCode,
      ),
    ).toEqual([201, 400]);
    expect(sf.records.size).toBe(1);
  });

  test('request and response mappings, as in REST operations', async () => {
    const result = await call(
      connector(),
      'mapped',
      { customer: { last: 'Lovelace', company: 'Engines' } },
      '006000000000000042',
    );
    expect(result).toEqual({ statusCode: 201, data: expect.stringMatching(/^00Q/) });
    expect(sf.records.get(result.data as string)).toMatchObject({
      LastName: 'Lovelace',
      Company: 'Engines',
      Source_Record__c: '006000000000000042',
    });
  });

  test('inputs that cannot work are refused before any login', async () => {
    const c = connector();
    await expect(call(c, 'updateAccount', { Name: 'no id' })).rejects.toThrow(RequestPreparationError);
    await expect(call(c, 'updateAccount', { Name: 'x' }, '001/../../User')).rejects.toThrow(
      /15- or 18-character record id/,
    );
    await expect(call(c, 'upsertContact', { LastName: 'no ext id' })).rejects.toThrow(/external id "Ext_Id__c"/);
    await expect(call(c, 'createAccount', ['not', 'an', 'object'])).rejects.toThrow(/object of Account fields/);
    await expect(
      call(c, 'batch', { compositeRequest: [{ method: 'POST', url: 'sobjects/Account', referenceId: 'a' }] }),
    ).rejects.toThrow(/compositeRequest\[0\]\.url/);
    await expect(call(c, 'findAccounts', {})).rejects.toThrow(/no "industry" field/);
    await expect(call(c, 'nope', {})).rejects.toMatchObject({ code: 'OPERATION_NOT_FOUND' });
    expect(sf.tokenRequests).toHaveLength(0);
  });
});

describe('errors', () => {
  test('a Salesforce error array maps to the standard error with errorCode, message and fields', async () => {
    const err = await failure(call(connector(), 'createAccount', { Industry: 'Energy' }));
    expect(err).toMatchObject({ code: 'UPSTREAM_SALESFORCE_ERROR', statusCode: 400 });
    expect(err.message).toBe(
      'Salesforce answered HTTP 400: REQUIRED_FIELD_MISSING: Required fields are missing: [Name] (fields: Name)',
    );
    expect(isRetryable(err)).toBe(false);
  });

  // Salesforce's own texts (REST API Developer Guide, "Status Codes and Error Responses"; 403 REQUEST_LIMIT_EXCEEDED);
  // none of them comes with a Retry-After header.
  test.each([
    ['UNABLE_TO_LOCK_ROW', 400, 'unable to obtain exclusive access to this record or 1 records: 001000000000001AAA'],
    ['REQUEST_LIMIT_EXCEEDED', 403, 'ConcurrentRequests (Concurrent API Requests) Limit exceeded.'],
    ['SERVER_UNAVAILABLE', 503, 'Server temporarily unavailable'],
  ])(
    '%s (HTTP %i) is retryable with backoff, and jsforce does not retry behind the policy',
    async (errorCode, status, message) => {
      sf.seed('Account', { Name: 'A', Industry: 'Energy' });
      sf.fail('GET /query', { status, errors: [{ errorCode, message }] });
      const err = await failure(call(connector(), 'findAccounts', { industry: 'Energy' }));
      expect(err).toMatchObject({ code: 'UPSTREAM_SALESFORCE_ERROR', statusCode: status });
      expect(err.message).toContain(`${errorCode}: ${message}`);
      expect(err.details.retryAfterMs).toBeUndefined();
      expect(isRetryable(err)).toBe(true);
      expect(sf.calls).toHaveLength(1);
    },
  );

  test('the org\'s 24-hour API limit (REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded.") fails with SALESFORCE_API_LIMIT, not retried', async () => {
    sf.fail('POST /sobjects/Account', {
      status: 403,
      errors: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }],
    });
    const err = await failure(call(connector(), 'createAccount', { Name: 'Over the limit' }));
    expect(err).toMatchObject({ code: 'SALESFORCE_API_LIMIT', statusCode: 403 });
    expect(err.message).toContain('TotalRequests Limit exceeded.');
    expect(isRetryable(err)).toBe(false);
  });

  test('an unreachable instance is a retryable network error', async () => {
    const c = connector({ timeoutMs: 300 });
    await call(c, 'createAccount', { Name: 'warm' });
    const closed = await failure(
      salesforceWrapper.call(
        { connector: c, operationName: 'createAccount', payload: { Name: 'x' }, jobId: 'j' },
        {
          ...deps,
          fetch: async (url: string, init: RequestInit) =>
            String(url).startsWith(sf.instanceUrl)
              ? globalThis.fetch('http://127.0.0.1:1/', init)
              : globalThis.fetch(url, init),
        },
      ),
    );
    expect(closed.code).toBe('UPSTREAM_NETWORK_ERROR');
    expect(isRetryable(closed)).toBe(true);
  });
});
