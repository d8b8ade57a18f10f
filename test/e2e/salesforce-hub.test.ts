import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTestKeyPair, startFakeSalesforce, type FakeSalesforce } from '../../local/fake-salesforce';
import { startFakeUpstream, type FakeUpstream } from '../../local/fake-upstream';
import { startHubProcess, type RunningHub } from '../../local/hub-process';

/**
 * Issue 5's "done when", end to end: a callout submitted to the local hub (real
 * handlers, emulators, child process) calls the external service once, and its
 * outcome is written onto the calling record and published as a Platform Event
 * on the local Salesforce stand-in, with credentials from the hub's SSM.
 */
const CLIENT_SECRET = 'sf-client-secret-7f3a';
const keys = generateTestKeyPair();
let hub: RunningHub;
let upstream: FakeUpstream;
let sf: FakeSalesforce;
let dir: string;

async function waitForDelivery(jobId: string, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await hub.api('GET', `/v1/jobs/${jobId}`);
    const status = res.body?.delivery?.status;
    if (status === 'DELIVERED' || status === 'FAILED') return res.body;
    if (Date.now() > deadline)
      throw new Error(
        `delivery of ${jobId} not finished after ${timeoutMs} ms: ${JSON.stringify(res.body)}\n${hub.output()}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The Salesforce delivery target; `baseDelayMs` decides whether a retry waits inline (under 2 s) or in SQS. */
const sfRow = (baseDelayMs = 200) => ({
  connectorId: 'sf',
  type: 'salesforce',
  loginUrl: sf.loginUrl,
  auth: { type: 'clientCredentials', clientId: 'crm-bridge-hub', clientSecret: { secret: 'client-secret' } },
  retry: { maxAttempts: 3, baseDelayMs },
});
/** The local hub's workers reread a connector row after 1 s. */
const rowCacheTtl = () => new Promise((r) => setTimeout(r, 1100));

async function submit(connectorId: string, operation: string, body: Record<string, unknown>): Promise<string> {
  const res = await hub.api('POST', `/v1/callouts/${connectorId}/${operation}`, body);
  expect(res.status).toBe(202);
  return res.body.jobId;
}

beforeAll(async () => {
  [upstream, sf, hub] = await Promise.all([
    startFakeUpstream(),
    startFakeSalesforce({
      clients: [{ clientId: 'crm-bridge-hub', clientSecret: CLIENT_SECRET }],
      jwtApps: [{ clientId: 'crm-bridge-jwt', publicKeyPem: keys.publicKeyPem, usernames: ['integration@acme.test'] }],
      requiredFields: { Lead: ['LastName', 'Company'] },
    }),
    startHubProcess(),
  ]);
  dir = mkdtempSync(join(tmpdir(), 'crm-bridge-sf-'));
  // The Salesforce connector, registered the way an admin does it: row file + secrets through the CLI.
  const row = join(dir, 'sf.json');
  writeFileSync(row, JSON.stringify(sfRow()));
  expect(await hub.cli(['connectors', 'put', row, '--local'])).toMatchObject({ code: 0 });
  expect((await hub.cli(['secrets', 'put', 'sf', 'client-secret', '--local'], `${CLIENT_SECRET}\n`)).code).toBe(0);
  await hub.putConnector({
    connectorId: 'erp',
    type: 'rest',
    baseUrl: `${upstream.url}/api`,
    timeoutMs: 2000,
    operations: { getOrder: { method: 'GET', path: '/orders/{orderId}' } },
    delivery: {
      getOrder: {
        connectorId: 'sf',
        recordUpdate: {
          sobject: 'Opportunity',
          fields: {
            ERP_Status__c: 'result.data.status',
            ERP_Total__c: 'result.data.total',
            ERP_Error__c: 'error.message',
          },
        },
        platformEvent: { sobject: 'Callout_Result__e' },
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await hub?.stop();
  await upstream?.close();
  await sf?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a callout through the hub ends with its result on the record and a Platform Event published', async () => {
  const opportunityId = sf.seed('Opportunity', { Name: 'Big deal', StageName: 'Negotiation' });
  upstream.route('GET /api/orders/42', { json: { id: 42, status: 'SHIPPED', total: 1999.9 } });
  const jobId = await submit('erp', 'getOrder', { payload: { orderId: 42 }, recordId: opportunityId });
  const job = await waitForDelivery(jobId);
  expect(job).toMatchObject({
    status: 'SUCCEEDED',
    attempts: 1,
    recordId: opportunityId,
    result: { statusCode: 200, data: { id: 42, status: 'SHIPPED', total: 1999.9 } },
    delivery: { status: 'DELIVERED', attempts: 1, deliveredAt: expect.any(String) },
  });
  expect(sf.records.get(opportunityId)).toEqual({
    Id: opportunityId,
    attributes: { type: 'Opportunity' },
    Name: 'Big deal',
    StageName: 'Negotiation',
    ERP_Status__c: 'SHIPPED',
    ERP_Total__c: 1999.9,
    ERP_Error__c: null,
  });
  const event = sf.events.find((e) => e.fields.Job_Id__c === jobId)!;
  expect(event).toEqual({
    type: 'Callout_Result__e',
    id: expect.any(String),
    fields: {
      Job_Id__c: jobId,
      Connector_Id__c: 'erp',
      Operation__c: 'getOrder',
      Status__c: 'SUCCEEDED',
      Record_Id__c: opportunityId,
      Result__c: JSON.stringify(job.result),
      Error__c: null,
    },
  });
  expect(upstream.calls('GET /api/orders/42')).toHaveLength(1);
  expect(sf.tokenRequests.filter((r) => r.ok)).toHaveLength(1);
  expect(JSON.stringify(job)).not.toContain(CLIENT_SECRET);
  expect(hub.output()).not.toContain(CLIENT_SECRET);
});

test('a delivery refused with 503 is retried later by SQS redelivery, without calling the service again', async () => {
  const opportunityId = sf.seed('Opportunity', { Name: 'Retry deal' });
  upstream.route('GET /api/orders/43', { json: { id: 43, status: 'BACKORDERED', total: 5 } });
  // Salesforce's 503 carries no Retry-After: the target's backoff (base 5 s: 2.5-5 s) is over the 2 s
  // the worker waits inline, so the message goes back to the queue.
  await hub.putConnector(sfRow(5000));
  await rowCacheTtl();
  sf.fail('POST /composite', {
    status: 503,
    errors: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable' }],
  });
  let job: any;
  try {
    const jobId = await submit('erp', 'getOrder', { payload: { orderId: 43 }, recordId: opportunityId });
    const ended = await hub.waitForJob(jobId);
    expect(ended.status).toBe('SUCCEEDED');
    job = await waitForDelivery(jobId);
  } finally {
    await hub.putConnector(sfRow());
    await rowCacheTtl();
  }
  const jobId = job.jobId as string;
  expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 1, delivery: { status: 'DELIVERED', attempts: 2 } });
  expect(sf.records.get(opportunityId)).toMatchObject({ ERP_Status__c: 'BACKORDERED' });
  expect(sf.events.filter((e) => e.fields.Job_Id__c === jobId)).toHaveLength(1);
  expect(upstream.calls('GET /api/orders/43')).toHaveLength(1);
});

test('a salesforce connector job through the hub: JWT bearer with the key from SSM, one login for several jobs', async () => {
  const row = join(dir, 'sf-jwt.json');
  writeFileSync(
    row,
    JSON.stringify({
      connectorId: 'sf-jwt',
      type: 'salesforce',
      loginUrl: sf.loginUrl,
      apiVersion: '61.0',
      // The JWT's aud is the login server Salesforce names (login.salesforce.com), not the stand-in's address.
      auth: {
        type: 'jwtBearer',
        clientId: 'crm-bridge-jwt',
        username: { secret: 'username' },
        privateKey: { secret: 'private-key' },
        audience: 'https://login.salesforce.com',
      },
      operations: {
        createLead: { action: 'create', sobject: 'Lead' },
        findLeads: { action: 'query', soql: 'SELECT Id, LastName FROM Lead WHERE Company = :company' },
      },
    }),
  );
  expect(await hub.cli(['connectors', 'put', row, '--local'])).toMatchObject({ code: 0 });
  expect((await hub.cli(['secrets', 'put', 'sf-jwt', 'private-key', '--local'], keys.privateKeyPem)).code).toBe(0);
  expect((await hub.cli(['secrets', 'put', 'sf-jwt', 'username', '--local'], 'integration@acme.test\n')).code).toBe(0);
  const before = sf.tokenRequests.length;

  const created = await hub.waitForJob(
    await submit('sf-jwt', 'createLead', { payload: { LastName: 'Hopper', Company: 'Navy' } }),
  );
  expect(created).toMatchObject({
    status: 'SUCCEEDED',
    result: { statusCode: 201, data: { success: true, id: expect.stringMatching(/^00Q/) } },
  });
  const invalid = await hub.waitForJob(await submit('sf-jwt', 'createLead', { payload: { LastName: 'No company' } }));
  expect(invalid).toMatchObject({
    status: 'FAILED',
    attempts: 1,
    error: { code: 'UPSTREAM_SALESFORCE_ERROR', statusCode: 400, retryable: false },
  });
  expect(invalid.error.message).toContain(
    'REQUIRED_FIELD_MISSING: Required fields are missing: [Company] (fields: Company)',
  );
  const found = await hub.waitForJob(await submit('sf-jwt', 'findLeads', { payload: { company: 'Navy' } }));
  expect(found.result.data).toMatchObject({ totalSize: 1, records: [{ LastName: 'Hopper' }] });

  const logins = sf.tokenRequests.slice(before);
  expect(logins).toHaveLength(1);
  expect(logins[0]).toMatchObject({
    grantType: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    ok: true,
    jwt: { claims: { sub: 'integration@acme.test' } },
  });
  expect(sf.calls.filter((c) => c.version === '61.0')).toHaveLength(3);
  expect(hub.output()).not.toContain('PRIVATE KEY');
});

test('deliveries stay inside the worker cap: 60 at once never put more than 25 requests in flight at Salesforce', async () => {
  const ids = Array.from({ length: 60 }, (_, i) => sf.seed('Opportunity', { Name: `Bulk ${i}` }));
  upstream.route('GET /api/orders/500', { json: { id: 500, status: 'SHIPPED', total: 1 } });
  // Slow enough that the 60 deliveries overlap even on a loaded machine.
  sf.setLatency(500);
  try {
    const before = sf.maxInFlight;
    expect(before).toBeLessThanOrEqual(1);
    const jobIds = await Promise.all(
      ids.map((recordId) => submit('erp', 'getOrder', { payload: { orderId: 500 }, recordId })),
    );
    const jobs = await Promise.all(jobIds.map((jobId) => waitForDelivery(jobId, 30_000)));
    expect(jobs.every((j) => j.delivery.status === 'DELIVERED')).toBe(true);
    // Salesforce allows 25 concurrent long-running requests per org; the deliveries did run in parallel, up to the cap.
    expect(sf.maxInFlight).toBeLessThanOrEqual(25);
    expect(sf.maxInFlight).toBeGreaterThanOrEqual(10);
  } finally {
    sf.setLatency(0);
  }
}, 60_000);
