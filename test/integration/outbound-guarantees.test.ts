import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { wrappers } from '../../lambdas/connectors';
import { createNodeFetch, nodeFetch } from '../../lambdas/connectors/transport';
import type { WrapperDeps } from '../../lambdas/connectors/types';
import { ConnectorStore } from '../../lambdas/adapters/connector-store';
import { SalesforceDelivery } from '../../lambdas/delivery/salesforce-delivery';
import { toJobError } from '../../lambdas/domain/job';
import { JobStore } from '../../lambdas/adapters/job-store';
import { startDynamo } from '../support/dynamo';
import { sqsRecord } from '../support/events';
import { jobWorker, mockLogger, testQueue } from '../support/worker';
import { startFakeUpstream, type FakeUpstream, type RecordedCall } from '../../local/fake-upstream';
import { RequestPreparationError } from '../../lambdas/shared/errors';
import { queuedJob } from '../support/jobs';

/**
 * What the hub guarantees about outgoing calls, through the worker's JobRunner
 * with the real wrappers and transport, real stores on dynalite and real
 * servers on 127.0.0.1: secrets an upstream echoes never reach the job record
 * or the logs.
 */
let dynamo: Awaited<ReturnType<typeof startDynamo>>;
let api: FakeUpstream;
let idp: FakeUpstream;
const sqsMock = mockClient(SQSClient);
let seq = 0;

const SECRETS: Record<string, string> = {
  bearer: 'bearer-tok-0001',
  key: 'api-key-0002',
  pw: 'basic-pass-0003',
  hdr: 'hdr-secret-0004',
  cs: 'client-secret-0005',
  bot: 'xoxb-bot-token-0006',
  hook: '', // set once the fake Slack listens
  viber: 'viber-token-0007',
};

beforeAll(async () => {
  [dynamo, api, idp] = await Promise.all([startDynamo(), startFakeUpstream(), startFakeUpstream()]);
  SECRETS.hook = `${api.url}/services/T0001/B0001/hookSecret0008`;
});
afterAll(async () => {
  sqsMock.restore();
  await Promise.all([dynamo?.stop(), api?.close(), idp?.close()]);
});

const echo = (status: number) => (call: RecordedCall) => ({
  status,
  json: { headers: call.headers, query: call.query, body: call.body, path: call.path },
});

async function runJob(
  row: Record<string, unknown>,
  operation: string,
  payload: unknown = {},
  deps: Partial<WrapperDeps> = {},
) {
  const id = `o-${++seq}`;
  await dynamo.db.send(
    new PutCommand({
      TableName: dynamo.tables.connectors,
      Item: { connectorId: id, retry: { maxAttempts: 1, baseDelayMs: 0 }, ...row },
    }),
  );
  const jobs = new JobStore(dynamo.client, dynamo.tables.jobs);
  const jobId = `job-o-${seq}`;
  await jobs.create(queuedJob({ jobId, connectorId: id, operation, payload }));
  const logger = mockLogger();
  const worker = jobWorker({
    connectors: new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0),
    jobs,
    queue: testQueue(),
    wrappers,
    wrapperDeps: {
      secrets: {
        async get(_c, name) {
          if (!SECRETS[name]) throw new RequestPreparationError('SECRET_NOT_FOUND', `no secret ${name}`);
          return SECRETS[name];
        },
      },
      fetch: nodeFetch,
      ...deps,
    },
    logger,
    sleep: async () => undefined,
  });
  await worker.process(sqsRecord(JSON.stringify({ jobId })));
  const job = (await jobs.get(jobId))!;
  return { job, logs: JSON.stringify([logger.info.mock.calls, logger.warn.mock.calls, logger.error.mock.calls]) };
}

function expectNoSecret(text: string, ...names: string[]) {
  for (const name of names) {
    const value = SECRETS[name]!;
    expect(text).not.toContain(value);
    expect(text).not.toContain(encodeURIComponent(value));
  }
}

describe('secrets an upstream echoes are redacted from the job record and logs', () => {
  const restRow = (auth: Record<string, unknown>, method = 'GET') => ({
    type: 'rest',
    baseUrl: api.url,
    auth,
    headers: { 'X-Custom-Secret': { secret: 'hdr' } },
    operations: { bad: { method, path: '/echo-400' }, good: { method, path: '/echo-200' } },
  });
  beforeAll(() => {
    api.route('GET /echo-400', echo(400));
    api.route('GET /echo-200', echo(200));
  });

  test.each([
    ['bearer', { type: 'bearer', secret: 'bearer' }, ['bearer']],
    ['apiKey in a header', { type: 'apiKey', in: 'header', name: 'X-Api-Key', value: { secret: 'key' } }, ['key']],
    ['apiKey in the query', { type: 'apiKey', in: 'query', name: 'api_key', value: { secret: 'key' } }, ['key']],
    ['basic (and its base64 form)', { type: 'basic', username: 'svc-user', password: { secret: 'pw' } }, ['pw']],
  ])('%s: echoed in a 400 body (error.message) and a 200 body (result.data)', async (_name, auth, names) => {
    const failed = await runJob(restRow(auth), 'bad', { q: 1 });
    expect(failed.job).toMatchObject({ status: 'FAILED', error: { code: 'UPSTREAM_HTTP_ERROR', statusCode: 400 } });
    expect(failed.job.error!.message).toContain('[REDACTED]');
    const ok = await runJob(restRow(auth), 'good', { q: 1 });
    expect(ok.job.status).toBe('SUCCEEDED');
    const data = ok.job.result!.data as { headers: Record<string, string>; query: Record<string, string> };
    expect(data.headers['x-custom-secret']).toBe('[REDACTED]');
    for (const outcome of [failed, ok]) {
      expectNoSecret(JSON.stringify(outcome.job), ...names, 'hdr');
      expectNoSecret(outcome.logs, ...names, 'hdr');
    }
    if (auth.type === 'basic') {
      expect(data.headers.authorization).toBe('Basic [REDACTED]');
      expect(JSON.stringify(ok.job)).not.toContain(Buffer.from(`svc-user:${SECRETS.pw}`).toString('base64'));
    }
  });

  test('OAuth: a token endpoint echoing the client secret in error_description; an API echoing the access token', async () => {
    idp.route('POST /bad-token', (call) => ({
      status: 400,
      json: {
        error: 'invalid_client',
        error_description: `unknown client ${call.headers.authorization} / ${SECRETS.cs}`,
      },
    }));
    idp.route('POST /token', { json: { access_token: 'oauth-access-token-0009', expires_in: 3600 } });
    const oauth = (tokenUrl: string) => ({
      type: 'oauth2ClientCredentials',
      tokenUrl,
      clientId: 'client-1',
      clientSecret: { secret: 'cs' },
    });
    const refused = await runJob(restRow(oauth(`${idp.url}/bad-token`)), 'good');
    expect(refused.job.error).toMatchObject({ code: 'OAUTH_TOKEN_FAILED' });
    expect(refused.job.error!.message).toContain('[REDACTED]');
    expectNoSecret(JSON.stringify(refused.job), 'cs');
    expect(JSON.stringify(refused.job)).not.toContain(Buffer.from(`client-1:${SECRETS.cs}`).toString('base64'));

    const ok = await runJob(restRow(oauth(`${idp.url}/token`)), 'good');
    expect((ok.job.result!.data as { headers: Record<string, string> }).headers.authorization).toBe(
      'Bearer [REDACTED]',
    );
    expect(JSON.stringify(ok.job)).not.toContain('oauth-access-token-0009');
  });

  test('Slack: Web API error text quoting the bot token; webhook error text quoting its secret path', async () => {
    api.route('POST /slack/chat.postMessage', (call) => ({
      json: { ok: false, error: `invalid_auth (${String(call.headers.authorization)})` },
    }));
    api.route('POST /services/T0001/B0001/hookSecret0008', (call) => ({
      status: 404,
      text: `no_service: ${call.path}`,
    }));
    const post = await runJob(
      {
        type: 'slack',
        baseUrl: `${api.url}/slack`,
        botToken: { secret: 'bot' },
        operations: { say: { action: 'postMessage', channel: '#c' } },
      },
      'say',
      { text: 'hi' },
    );
    expect(post.job.error).toMatchObject({
      code: 'UPSTREAM_SLACK_ERROR',
      message: 'Slack refused the message: invalid_auth (Bearer [REDACTED])',
    });
    const hook = await runJob(
      { type: 'slack', webhookUrl: { secret: 'hook' }, operations: { say: { action: 'webhook' } } },
      'say',
      { text: 'hi' },
    );
    expect(hook.job.error!.message).toContain('no_service: [REDACTED]');
    expect(JSON.stringify(hook.job)).not.toContain('hookSecret0008');
    expectNoSecret(JSON.stringify(post.job) + post.logs, 'bot');
  });

  test('Viber: status_message quoting the auth token', async () => {
    api.route('POST /viber/send_message', (call) => ({
      json: { status: 2, status_message: `invalid auth token ${String(call.headers['x-viber-auth-token'])}` },
    }));
    const { job } = await runJob(
      {
        type: 'viber',
        baseUrl: `${api.url}/viber`,
        authToken: { secret: 'viber' },
        sender: { name: 'Bot' },
        operations: { send: { action: 'sendMessage' } },
      },
      'send',
      { receiver: 'u1', text: 'hi' },
    );
    expect(job.error).toMatchObject({
      code: 'UPSTREAM_VIBER_ERROR',
      message: 'Viber refused the message: status 2 (invalid auth token [REDACTED])',
    });
  });
});

describe('redirects', () => {
  let elsewhere: FakeUpstream;
  beforeAll(async () => {
    elsewhere = await startFakeUpstream();
    elsewhere.route('GET /landing', echo(200));
    elsewhere.route('POST /landing', echo(200));
    api.route('GET /moved', { status: 302, headers: { location: `${elsewhere.url}/landing` } });
    api.route('POST /moved', { status: 307, headers: { location: `${elsewhere.url}/landing` } });
  });
  afterAll(() => elsewhere.close());
  beforeEach(() => elsewhere.reset());

  const row = (op: Record<string, unknown>) => ({
    type: 'rest',
    baseUrl: api.url,
    auth: { type: 'apiKey', in: 'header', name: 'X-Api-Key', value: { secret: 'key' } },
    headers: { 'X-Custom-Secret': { secret: 'hdr' }, 'X-Plain': 'plain' },
    operations: { op },
  });

  test('a GET follows a redirect to another origin without the API key or secret headers', async () => {
    const { job } = await runJob(row({ method: 'GET', path: '/moved' }), 'op');
    expect(job.status).toBe('SUCCEEDED');
    const [call] = elsewhere.calls('GET /landing');
    expect(call!.headers['x-api-key']).toBeUndefined();
    expect(call!.headers['x-custom-secret']).toBeUndefined();
    expect(call!.headers['x-plain']).toBeUndefined();
  });

  test('a POST does not follow by default: the 307 fails the job (UPSTREAM_HTTP_ERROR, not retried); followRedirects: true follows', async () => {
    const { job } = await runJob(
      { ...row({ method: 'POST', path: '/moved' }), retry: { maxAttempts: 3, baseDelayMs: 0 } },
      'op',
      { a: 1 },
    );
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'UPSTREAM_HTTP_ERROR', statusCode: 307, retryable: false },
    });
    expect(elsewhere.calls()).toHaveLength(0);
    const followed = await runJob(row({ method: 'POST', path: '/moved', followRedirects: true }), 'op', { a: 1 });
    expect(followed.job.status).toBe('SUCCEEDED');
    expect(elsewhere.calls('POST /landing')[0]).toMatchObject({ body: '{"a":1}' });
  });

  test("followRedirects: false makes a GET's 3xx the answer", async () => {
    const { job } = await runJob(row({ method: 'GET', path: '/moved', followRedirects: false }), 'op');
    expect(job).toMatchObject({ status: 'FAILED', error: { code: 'UPSTREAM_HTTP_ERROR', statusCode: 302 } });
    expect(elsewhere.calls()).toHaveLength(0);
  });
});

test('path templating: a dot segment in a {name} value fails the job with INVALID_PAYLOAD, nothing sent', async () => {
  api.reset();
  const row = {
    type: 'rest',
    baseUrl: `${api.url}/v1/tenant`,
    operations: { get: { method: 'GET', path: '/items/{id}' } },
  };
  for (const id of ['..', '%2e%2e', '%2E.']) {
    const { job } = await runJob(row, 'get', { id });
    expect(job).toMatchObject({ status: 'FAILED', attempts: 0, error: { code: 'INVALID_PAYLOAD', retryable: false } });
  }
  expect(api.calls()).toHaveLength(0);
});

describe('SSRF: the worker calls only allowed targets (TARGET_NOT_ALLOWED, nothing sent, not retried)', () => {
  // A DNS name that resolves to the fake upstream's loopback address, as a name pointing at an internal host would.
  const fetchWithDns = createNodeFetch(((
    host: string,
    options: { all?: boolean },
    callback: (...args: unknown[]) => void,
  ) => {
    const address = host === 'internal.test' ? '127.0.0.1' : undefined;
    if (!address) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));
    return options.all ? callback(null, [{ address, family: 4 }]) : callback(null, address, 4);
  }) as never);
  const port = () => new URL(api.url).port;
  const refused = { status: 'FAILED', attempts: 0, error: { code: 'TARGET_NOT_ALLOWED', retryable: false } };
  beforeAll(() => api.route('GET /internal', { json: { internal: true } }));
  beforeEach(() => api.reset());

  test('a row written straight into DynamoDB with baseUrl 169.254.169.254 is refused, even where private targets are allowed', async () => {
    const { job } = await runJob(
      {
        type: 'rest',
        baseUrl: 'http://169.254.169.254/latest',
        operations: { get: { method: 'GET', path: '/meta-data' } },
      },
      'get',
      {},
      { privateTargets: 'allow' },
    );
    expect(job).toMatchObject(refused);
    expect(job.error!.message).toMatch(/instance metadata address/);
  });

  test('a DNS name resolving to loopback is refused when private targets are not allowed; allowed with opt-in + network.allowPrivate', async () => {
    const row = {
      type: 'rest',
      baseUrl: `http://internal.test:${port()}`,
      retry: { maxAttempts: 3, baseDelayMs: 0 },
      operations: { get: { method: 'GET', path: '/internal' } },
    };
    const { job } = await runJob(row, 'get', {}, { privateTargets: 'refuse', fetch: fetchWithDns });
    expect(job).toMatchObject(refused);
    expect(job.error!.message).toMatch(/internal\.test resolves to a loopback address \(127\.0\.0\.1\)/);
    expect((await runJob(row, 'get', {}, { privateTargets: 'opt-in', fetch: fetchWithDns })).job).toMatchObject(
      refused,
    ); // the connector did not opt in
    expect(api.calls()).toHaveLength(0);
    const allowed = await runJob(
      { ...row, network: { allowPrivate: true } },
      'get',
      {},
      { privateTargets: 'opt-in', fetch: fetchWithDns },
    );
    expect(allowed.job).toMatchObject({ status: 'SUCCEEDED', result: { data: { internal: true } } });
  });

  test('loopback literals, localhost, a redirect to metadata and a webhook secret URL are refused the same way', async () => {
    const deps = { privateTargets: 'refuse' } as const;
    const get = { get: { method: 'GET', path: '/internal' } };
    expect((await runJob({ type: 'rest', baseUrl: api.url, operations: get }, 'get', {}, deps)).job).toMatchObject(
      refused,
    );
    expect(
      (await runJob({ type: 'rest', baseUrl: `http://localhost:${port()}`, operations: get }, 'get', {}, deps)).job,
    ).toMatchObject(refused);
    expect(
      (
        await runJob(
          { type: 'slack', webhookUrl: { secret: 'hook' }, operations: { say: { action: 'webhook' } } },
          'say',
          { text: 'hi' },
          deps,
        )
      ).job,
    ).toMatchObject(refused);
    expect(api.calls()).toHaveLength(0);
    api.route('GET /to-metadata', { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data' } });
    const redirected = await runJob(
      { type: 'rest', baseUrl: api.url, operations: { get: { method: 'GET', path: '/to-metadata' } } },
      'get',
      {},
      { privateTargets: 'allow' },
    );
    expect(redirected.job).toMatchObject({ status: 'FAILED', error: { code: 'TARGET_NOT_ALLOWED' } });
    expect(redirected.job.error!.message).toMatch(
      /^A redirect to http:\/\/169\.254\.169\.254 points at an instance metadata address/,
    );
  });

  test('SOAP (its own HTTP client): a WSDL whose service address is the metadata host is refused before the POST', async () => {
    const wsdl = readFileSync(join(__dirname, '../fixtures/calculator.wsdl'), 'utf8').replace(
      /http:\/\/www\.dneonline\.com/g,
      'http://169.254.169.254',
    );
    api.route('GET /metadata-calculator', { status: 200, headers: { 'content-type': 'text/xml' }, text: wsdl });
    const { job } = await runJob(
      { type: 'soap', wsdlUrl: `${api.url}/metadata-calculator?wsdl`, operations: { add: { operation: 'Add' } } },
      'add',
      { intA: 1, intB: 2 },
      { privateTargets: 'allow' },
    );
    expect(job).toMatchObject(refused);
    expect(job.error!.message).toMatch(/169\.254\.169\.254 points at an instance metadata address/);
    expect(api.calls().map((c) => c.method)).toEqual(['GET']); // the WSDL only
  });

  test("Salesforce (jsforce through the wrapper's fetch): a login URL resolving to loopback is refused", async () => {
    const { job } = await runJob(
      {
        type: 'salesforce',
        loginUrl: `http://internal.test:${port()}`,
        apiVersion: '62.0',
        auth: { type: 'clientCredentials', clientId: 'x', clientSecret: { secret: 'cs' } },
        operations: { create: { action: 'create', sobject: 'Account' } },
      },
      'create',
      { Name: 'A' },
      { privateTargets: 'refuse', fetch: fetchWithDns },
    );
    expect(job).toMatchObject(refused);
    expect(api.calls()).toHaveLength(0);
  });
});

test('Salesforce delivery: an org error quoting the session token is redacted from the delivery error', async () => {
  api.route('POST /services/oauth2/token', { json: { access_token: 'sf-session-token-0010', instance_url: api.url } });
  api.route('POST /services/data/v62.0/composite', (call) => ({
    status: 400,
    json: [
      {
        errorCode: 'MALFORMED_QUERY',
        message: `bad request with ${String(call.headers.authorization)} and ${SECRETS.cs}`,
      },
    ],
  }));
  const connectorId = `sfd-${++seq}`;
  await dynamo.db.send(
    new PutCommand({
      TableName: dynamo.tables.connectors,
      Item: {
        connectorId,
        type: 'salesforce',
        loginUrl: api.url,
        apiVersion: '62.0',
        auth: { type: 'clientCredentials', clientId: 'x', clientSecret: { secret: 'cs' } },
        retry: { maxAttempts: 1, baseDelayMs: 0 },
        operations: { c: { action: 'create', sobject: 'Account' } },
      },
    }),
  );
  const delivery = new SalesforceDelivery(new ConnectorStore(dynamo.db, dynamo.tables.connectors, 0), {
    secrets: { get: async (_c, name) => SECRETS[name]! },
    fetch: nodeFetch,
  });
  const prepared = await delivery.prepare({
    connectorId,
    on: ['SUCCEEDED'],
    platformEvent: { sobject: 'Callout_Result__e' },
  });
  const now = new Date().toISOString();
  const err = (await prepared
    .send({
      jobId: 'j',
      connectorId: 'x',
      operation: 'o',
      status: 'SUCCEEDED',
      attempts: 1,
      createdAt: now,
      updatedAt: now,
      payload: {},
      result: { statusCode: 200, data: {} },
    })
    .catch((e: unknown) => e)) as Error;
  expect(toJobError(err)).toMatchObject({
    code: 'UPSTREAM_SALESFORCE_ERROR',
    message: expect.stringContaining('bad request with Bearer [REDACTED] and [REDACTED]'),
  });
  expect(JSON.stringify(toJobError(err))).not.toContain('sf-session-token-0010');
});

test('`connectors validate` refuses a metadata or non-canonical target with its JSON path (exit code 2)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'crm-bridge-targets-'));
  try {
    const file = join(dir, 'meta.json');
    writeFileSync(
      file,
      JSON.stringify({
        connectorId: 'meta',
        type: 'rest',
        baseUrl: 'http://0xa9.254.169.254/latest',
        operations: { get: { method: 'GET', path: '/meta-data' } },
      }),
    );
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(__dirname, '../../cli/crm-bridge.cjs'), 'connectors', 'validate', file],
        (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('$.baseUrl: writes its IPv4 host "0xa9.254.169.254" in a non-canonical form');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
