import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenCache } from '../../lambdas/connectors/oauth2';
import { startFakeOAuth, type FakeOAuth } from '../support/fake-oauth';
import { startFakeUpstream, type FakeUpstream } from '../../local/fake-upstream';
import { startHubProcess, type RunningHub } from '../../local/hub-process';

/** REST connectors: auth schemes on the wire, content types, mappings — through the local hub. */
let hub: RunningHub;
let api: FakeUpstream;
let idp: FakeOAuth;
const dir = mkdtempSync(join(tmpdir(), 'crm-bridge-rest-'));

beforeAll(async () => {
  [api, idp, hub] = await Promise.all([
    startFakeUpstream(),
    // A token endpoint that checks client_secret_basic credentials and counts what it issues; a "short" scope's token lives 61 s (renewed 60 s before expiry).
    startFakeOAuth({
      clientId: 'client-1',
      clientSecret: 'cs-secret-77',
      tokenPrefix: 'tok-',
      lifetime: (scope) => (scope === 'short' ? 61 : 3600),
    }),
    startHubProcess(),
  ]);
});
afterAll(async () => {
  await hub?.stop();
  await Promise.all([api?.close(), idp?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

async function register(row: Record<string, unknown>, secrets: Record<string, string> = {}) {
  const file = join(dir, `${String(row.connectorId)}.json`);
  writeFileSync(
    file,
    JSON.stringify({ type: 'rest', baseUrl: api.url, retry: { maxAttempts: 2, baseDelayMs: 10 }, ...row }),
  );
  const put = await hub.cli(['connectors', 'put', file, '--local']);
  if (put.code !== 0) throw new Error(put.stderr);
  for (const [name, value] of Object.entries(secrets))
    expect((await hub.cli(['secrets', 'put', String(row.connectorId), name, '--local'], value)).code).toBe(0);
}

async function run(connectorId: string, operation: string, payload: unknown, recordId?: string) {
  const res = await hub.api('POST', `/v1/callouts/${connectorId}/${operation}`, {
    payload,
    ...(recordId && { recordId }),
  });
  expect(res.status).toBe(202);
  return hub.waitForJob(res.body.jobId);
}

function neverLeaked(job: unknown, secret: string) {
  expect(JSON.stringify(job)).not.toContain(secret);
  expect(hub.output()).not.toContain(secret);
}

const echo = (call: { headers: Record<string, unknown>; query: Record<string, string>; body: string }) => ({
  json: { headers: call.headers, query: call.query, body: call.body },
});

describe('auth schemes put the credential on the wire, never in the job or logs', () => {
  beforeAll(() => api.route('GET /whoami', echo));

  test('basic', async () => {
    await register(
      {
        connectorId: 'r-basic',
        auth: { type: 'basic', username: 'svc-user', password: { secret: 'pw' } },
        operations: { me: { method: 'GET', path: '/whoami' } },
      },
      { pw: 'b4sic-pass' },
    );
    const job = await run('r-basic', 'me', null);
    // The echo put the header in the result on purpose: the credential, in its base64 form too, is redacted.
    expect(job.result.data.headers.authorization).toBe('Basic [REDACTED]');
    expect(JSON.stringify(job)).not.toContain(Buffer.from('svc-user:b4sic-pass').toString('base64'));
    neverLeaked(job, 'b4sic-pass');
  });

  test('apiKey in a header and in the query', async () => {
    await register(
      {
        connectorId: 'r-key-h',
        auth: { type: 'apiKey', in: 'header', name: 'X-Api-Key', value: { secret: 'k' } },
        operations: { me: { method: 'GET', path: '/whoami' } },
      },
      { k: 'hdr-key-123' },
    );
    await register(
      {
        connectorId: 'r-key-q',
        auth: { type: 'apiKey', in: 'query', name: 'api_key', value: { secret: 'k' } },
        operations: { me: { method: 'GET', path: '/whoami' } },
      },
      { k: 'qry-key-456' },
    );
    api.reset();
    await run('r-key-h', 'me', null);
    await run('r-key-q', 'me', { page: 2 });
    const [h, q] = api.calls('GET /whoami');
    expect(h!.headers['x-api-key']).toBe('hdr-key-123');
    expect(q!.query).toEqual({ page: '2', api_key: 'qry-key-456' });
    expect(hub.output()).not.toContain('hdr-key-123');
    expect(hub.output()).not.toContain('qry-key-456');
  });

  test('oauth2 client credentials: one token for many calls, renewed before expiry', async () => {
    api.route('GET /secure', (call) =>
      call.headers.authorization?.toString().startsWith('Bearer tok-')
        ? { json: { token: call.headers.authorization } }
        : { status: 401, json: {} },
    );
    const oauth = {
      type: 'oauth2ClientCredentials',
      tokenUrl: idp.tokenUrl,
      clientId: 'client-1',
      clientSecret: { secret: 'cs' },
      audience: 'https://api.example',
    };
    await register(
      {
        connectorId: 'r-oauth',
        auth: { ...oauth, scope: 'orders' },
        operations: { get: { method: 'GET', path: '/secure' } },
      },
      { cs: 'cs-secret-77' },
    );
    const before = idp.issued;
    const jobs = await Promise.all(Array.from({ length: 8 }, () => run('r-oauth', 'get', null)));
    expect(jobs.every((j) => j.status === 'SUCCEEDED')).toBe(true);
    expect(idp.issued - before).toBe(1); // concurrent callers shared one token request
    expect(idp.requests.at(-1)!.form.get('audience')).toBe('https://api.example');
    neverLeaked(jobs[0], 'cs-secret-77');

    // A token that expires in 61 s is renewed 60 s early: after ~1 s the next call fetches a new one.
    await register(
      {
        connectorId: 'r-oauth-short',
        auth: { ...oauth, scope: 'short' },
        operations: { get: { method: 'GET', path: '/secure' } },
      },
      { cs: 'cs-secret-77' },
    );
    const s0 = idp.issued;
    await run('r-oauth-short', 'get', null);
    await run('r-oauth-short', 'get', null);
    expect(idp.issued - s0).toBe(1);
    await new Promise((r) => setTimeout(r, 1200));
    await run('r-oauth-short', 'get', null);
    expect(idp.issued - s0).toBe(2);
  });

  test('oauth2: a 401 from the API gets one fresh token and one retry', async () => {
    let revoked: string | undefined;
    api.route('GET /revocable', (call) => {
      const auth = String(call.headers.authorization);
      if (!revoked) revoked = auth; // the first token seen is revoked server-side
      return auth === revoked ? { status: 401, json: { error: 'invalid_token' } } : { json: { ok: true } };
    });
    await register(
      {
        connectorId: 'r-oauth-401',
        auth: {
          type: 'oauth2ClientCredentials',
          tokenUrl: idp.tokenUrl,
          clientId: 'client-1',
          clientSecret: { secret: 'cs' },
          scope: 'revocable',
        },
        operations: { get: { method: 'GET', path: '/revocable' } },
      },
      { cs: 'cs-secret-77' },
    );
    const before = idp.issued;
    const job = await run('r-oauth-401', 'get', null);
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { data: { ok: true } } });
    expect(idp.issued - before).toBe(2);
  });

  test("oauth2: refused client credentials fail the job with the endpoint's error, not the secret", async () => {
    await register(
      {
        connectorId: 'r-oauth-bad',
        auth: {
          type: 'oauth2ClientCredentials',
          tokenUrl: idp.tokenUrl,
          clientId: 'client-1',
          clientSecret: { secret: 'cs' },
        },
        operations: { get: { method: 'GET', path: '/secure' } },
      },
      { cs: 'wrong-secret-00' },
    );
    const job = await run('r-oauth-bad', 'get', null);
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'OAUTH_TOKEN_FAILED', retryable: false, statusCode: 401 },
    });
    expect(job.error.message).toContain('invalid_client');
    neverLeaked(job, 'wrong-secret-00');
  });
});

describe('headers, content types and mapping', () => {
  test('static headers per connector and per operation; a header value may come from a secret', async () => {
    api.route('POST /hdr', echo);
    await register(
      {
        connectorId: 'r-hdr',
        headers: { 'X-Tenant': 'acme', 'X-Signature': { secret: 'sig' } },
        operations: { go: { method: 'POST', path: '/hdr', headers: { 'X-Op': 'go' } } },
      },
      { sig: 'sig-value-8' },
    );
    const job = await run('r-hdr', 'go', { a: 1 });
    expect(api.calls('POST /hdr').at(-1)!.headers).toMatchObject({
      'x-tenant': 'acme',
      'x-signature': 'sig-value-8',
      'x-op': 'go',
      'content-type': 'application/json',
    });
    // The echo quoted the secret header back: it is redacted from the job.
    expect(job.result.data.headers).toMatchObject({ 'x-tenant': 'acme', 'x-signature': '[REDACTED]', 'x-op': 'go' });
    expect(hub.output()).not.toContain('sig-value-8');
  });

  test('every call carries Idempotency-Key: <jobId>, retries included; the header name is set per operation, false sends none', async () => {
    api.route('POST /idem', (call, nth) =>
      nth === 1 ? { status: 503, json: { busy: true } } : { json: { headers: call.headers } },
    );
    api.route('PUT /idem-named', echo);
    api.route('DELETE /idem-off', echo);
    await register({
      connectorId: 'r-idem',
      operations: {
        create: { method: 'POST', path: '/idem' },
        replace: { method: 'PUT', path: '/idem-named', idempotencyKeyHeader: 'X-Request-Id' },
        remove: { method: 'DELETE', path: '/idem-off', idempotencyKeyHeader: false },
      },
    });
    const created = await run('r-idem', 'create', { a: 1 });
    expect(created).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    const calls = api.calls('POST /idem');
    expect(calls.map((c) => c.headers['idempotency-key'])).toEqual([created.jobId, created.jobId]);
    const replaced = await run('r-idem', 'replace', { a: 2 });
    expect(replaced.result.data.headers['x-request-id']).toBe(replaced.jobId);
    expect(replaced.result.data.headers).not.toHaveProperty('idempotency-key');
    const removed = await run('r-idem', 'remove', { a: 3 });
    expect(removed.result.data.headers).not.toHaveProperty('idempotency-key');
    expect(JSON.stringify(removed.result.data.headers)).not.toContain(removed.jobId);
  });

  test('form and XML request bodies; XML and text responses', async () => {
    api.route('POST /form', (call) => ({ text: `got ${call.headers['content-type']} ${call.body}` }));
    api.route('POST /xml', (call) => ({
      headers: { 'content-type': 'application/xml' },
      text: `<ack id="7"><received>${Buffer.from(call.body).toString('base64')}</received><status>queued</status></ack>`,
    }));
    await register({
      connectorId: 'r-content',
      operations: {
        form: { method: 'POST', path: '/form', contentType: 'form' },
        xml: { method: 'POST', path: '/xml', contentType: 'xml', xmlRoot: 'order' },
      },
    });
    const form = await run('r-content', 'form', { name: 'Jane Doe', tags: ['a', 'b'] });
    expect(form.result).toEqual({
      statusCode: 200,
      data: 'got application/x-www-form-urlencoded name=Jane+Doe&tags=a&tags=b',
    });
    const xml = await run('r-content', 'xml', { id: 42, lines: { line: [{ sku: 'A' }, { sku: 'B' }] } });
    expect(xml.result.data.ack).toMatchObject({ '@_id': '7', status: 'queued' });
    const sent = Buffer.from(xml.result.data.ack.received, 'base64').toString();
    expect(sent).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><order><id>42</id><lines><line><sku>A</sku></line><line><sku>B</sku></line></lines></order>',
    );
  });

  test('request and response mappings (JMESPath) build the call and shape data', async () => {
    api.route('GET /accounts/001A', (call) => ({
      json: { account: { id: '001A', name: 'Acme', billing: { city: 'Oslo' } }, query: call.query, noise: 'x' },
    }));
    await register({
      connectorId: 'r-map',
      operations: {
        get: {
          method: 'GET',
          path: '/accounts/{id}',
          request: '{id: recordId, fields: payload.wanted}',
          response: '{name: account.name, city: account.billing.city, asked: query.fields}',
        },
      },
    });
    const job = await run('r-map', 'get', { wanted: 'name,city', ignored: true }, '001A');
    expect(job.result).toEqual({ statusCode: 200, data: { name: 'Acme', city: 'Oslo', asked: 'name,city' } });
  });

  test('a mapping that fails at run time is a clear non-retryable error naming the expression', async () => {
    await register({
      connectorId: 'r-map-bad',
      operations: { go: { method: 'POST', path: '/never', request: 'length(payload.count)' } },
    });
    const job = await run('r-map-bad', 'go', { count: 5 });
    expect(job).toMatchObject({ status: 'FAILED', attempts: 0, error: { code: 'MAPPING_FAILED', retryable: false } });
    expect(job.error.message).toContain('length(payload.count)');
  });

  test('an invalid expression is refused by `connectors validate` with its JSON path', async () => {
    const file = join(dir, 'bad-map.json');
    writeFileSync(
      file,
      JSON.stringify({
        connectorId: 'bad-map',
        type: 'rest',
        baseUrl: api.url,
        operations: { go: { method: 'GET', path: '/x', response: 'account.[name' } },
      }),
    );
    const res = await hub.cli(['connectors', 'validate', file]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('$.operations.go.response');
    expect(res.stderr).toContain('not a valid JMESPath expression');
  });
});

describe('TokenCache', () => {
  test('concurrent callers share one token request; invalidate forces a new one', async () => {
    const cache = new TokenCache();
    const creds = {
      tokenUrl: idp.tokenUrl,
      clientId: 'client-1',
      clientSecret: 'cs-secret-77',
      scope: 'unit',
      authMethod: 'basic' as const,
    };
    const before = idp.issued;
    const tokens = await Promise.all(Array.from({ length: 5 }, () => cache.get(creds, fetch, 2000)));
    expect(new Set(tokens).size).toBe(1);
    expect(idp.issued - before).toBe(1);
    cache.invalidate(creds, tokens[0]!);
    expect(await cache.get(creds, fetch, 2000)).not.toBe(tokens[0]);
    expect(idp.issued - before).toBe(2);
  });
});
