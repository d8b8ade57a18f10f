import { generateKeyPairSync, verify } from 'node:crypto';
import { salesforceConnectorSchema } from '../../../lambdas/connectors/salesforce/schema';
import {
  defaultAudience,
  JWT_GRANT,
  resolveCredentials,
  SessionCache,
  signJwtAssertion,
  type SalesforceCredentials,
} from '../../../lambdas/connectors/salesforce/session';
import { isRetryable } from '../../../lambdas/domain/retry-policy';
import { RequestPreparationError, UpstreamError } from '../../../lambdas/shared/errors';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString());

test('the JWT bearer assertion is RS256-signed with iss, sub, aud and an exp under 3 minutes', () => {
  const now = Date.UTC(2025, 0, 1);
  const jwt = signJwtAssertion(
    {
      clientId: 'app-1',
      username: 'int@example.com',
      audience: 'https://test.salesforce.com',
      privateKey: privateKeyPem,
    },
    now,
  );
  const [header, claims, signature] = jwt.split('.') as [string, string, string];
  expect(decode(header)).toEqual({ alg: 'RS256', typ: 'JWT' });
  expect(decode(claims)).toEqual({
    iss: 'app-1',
    sub: 'int@example.com',
    aud: 'https://test.salesforce.com',
    exp: now / 1000 + 180,
  });
  expect(verify('RSA-SHA256', Buffer.from(`${header}.${claims}`), publicKey, Buffer.from(signature, 'base64url'))).toBe(
    true,
  );
});

test('a broken private key is a preparation error that does not echo the key', () => {
  const bad = '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----';
  let thrown: unknown;
  try {
    signJwtAssertion(
      { clientId: 'a', username: 'u', audience: 'https://login.salesforce.com', privateKey: bad },
      Date.now(),
    );
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(RequestPreparationError);
  expect((thrown as Error).message).not.toContain('bm90IGEga2V5');
});

test('the JWT audience is the login server: production, sandbox, or the host itself', () => {
  expect(defaultAudience('https://acme.my.salesforce.com')).toBe('https://login.salesforce.com');
  expect(defaultAudience('https://acme--uat.sandbox.my.salesforce.com/')).toBe('https://test.salesforce.com');
  expect(defaultAudience('https://test.salesforce.com')).toBe('https://test.salesforce.com');
  expect(defaultAudience('https://login.salesforce.com')).toBe('https://login.salesforce.com');
  expect(defaultAudience('http://127.0.0.1:8443')).toBe('http://127.0.0.1:8443');
});

test('credentials: ids inline or from secrets, token URL from loginUrl, default audience, one-line PEM restored', async () => {
  const secrets = {
    get: jest.fn(async (_c: string, name: string) =>
      name === 'pk' ? privateKeyPem.replace(/\n/g, '\\n') : `value-of-${name}`,
    ),
  };
  const jwtRow = salesforceConnectorSchema.parse({
    connectorId: 'sf',
    type: 'salesforce',
    loginUrl: 'https://acme.my.salesforce.com/',
    auth: { type: 'jwtBearer', clientId: 'cid', username: { secret: 'user' }, privateKey: { secret: 'pk' } },
  });
  expect(jwtRow.apiVersion).toBe('62.0');
  const c = await resolveCredentials(jwtRow, { secrets });
  expect(c).toEqual({
    flow: 'jwtBearer',
    tokenUrl: 'https://acme.my.salesforce.com/services/oauth2/token',
    clientId: 'cid',
    username: 'value-of-user',
    privateKey: privateKeyPem,
    audience: 'https://login.salesforce.com',
  });
  const ccRow = salesforceConnectorSchema.parse({
    connectorId: 'sf',
    type: 'salesforce',
    loginUrl: 'https://acme.my.salesforce.com',
    auth: { type: 'clientCredentials', clientId: { secret: 'id' }, clientSecret: { secret: 'cs' } },
  });
  expect(await resolveCredentials(ccRow, { secrets })).toEqual({
    flow: 'clientCredentials',
    tokenUrl: 'https://acme.my.salesforce.com/services/oauth2/token',
    clientId: 'value-of-id',
    clientSecret: 'value-of-cs',
  });
});

describe('SessionCache', () => {
  const cc: SalesforceCredentials = {
    flow: 'clientCredentials',
    tokenUrl: 'https://sf.test/services/oauth2/token',
    clientId: 'cid',
    clientSecret: 'shh-secret',
  };

  function tokenServer(answers: Array<{ status: number; body: unknown }>) {
    const requests: URLSearchParams[] = [];
    const fetchFn = (async (_url: string, init: RequestInit) => {
      requests.push(new URLSearchParams(String(init.body)));
      const answer = answers[Math.min(requests.length - 1, answers.length - 1)]!;
      await new Promise((r) => setTimeout(r, 5));
      return new Response(JSON.stringify(answer.body), {
        status: answer.status,
        headers: { 'content-type': 'application/json' },
      });
    }) as unknown as typeof fetch;
    return { requests, fetchFn };
  }

  test('concurrent callers share one login; the session is reused until invalidated', async () => {
    const server = tokenServer([
      { status: 200, body: { access_token: 'T1', instance_url: 'https://acme.my.salesforce.com/' } },
      { status: 200, body: { access_token: 'T2', instance_url: 'https://acme.my.salesforce.com' } },
    ]);
    const cache = new SessionCache();
    const sessions = await Promise.all([1, 2, 3].map(() => cache.get(cc, server.fetchFn, 1000)));
    expect(sessions.map((s) => s.accessToken)).toEqual(['T1', 'T1', 'T1']);
    expect(sessions[0]!.instanceUrl).toBe('https://acme.my.salesforce.com');
    expect((await cache.get(cc, server.fetchFn, 1000)).accessToken).toBe('T1');
    expect(server.requests).toHaveLength(1);
    expect(Object.fromEntries(server.requests[0]!)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'cid',
      client_secret: 'shh-secret',
    });
    cache.invalidate(cc, 'stale-token-of-someone-else');
    expect((await cache.get(cc, server.fetchFn, 1000)).accessToken).toBe('T1');
    cache.invalidate(cc, 'T1');
    expect((await cache.get(cc, server.fetchFn, 1000)).accessToken).toBe('T2');
    expect(server.requests).toHaveLength(2);
  });

  test('the JWT flow posts the assertion grant', async () => {
    const server = tokenServer([
      { status: 200, body: { access_token: 'J', instance_url: 'https://x.my.salesforce.com' } },
    ]);
    await new SessionCache().get(
      {
        flow: 'jwtBearer',
        tokenUrl: 'https://login.salesforce.com/services/oauth2/token',
        clientId: 'c',
        username: 'u',
        audience: 'https://login.salesforce.com',
        privateKey: privateKeyPem,
      },
      server.fetchFn,
      1000,
    );
    expect(server.requests[0]!.get('grant_type')).toBe(JWT_GRANT);
    expect(decode(server.requests[0]!.get('assertion')!.split('.')[1]!)).toMatchObject({
      iss: 'c',
      sub: 'u',
      aud: 'https://login.salesforce.com',
    });
  });

  test('a refused login is SALESFORCE_LOGIN_FAILED with the OAuth error, not retried, and not cached', async () => {
    const server = tokenServer([
      { status: 400, body: { error: 'invalid_client', error_description: 'invalid client credentials' } },
      { status: 503, body: {} },
      { status: 200, body: { access_token: 'T', instance_url: 'https://i' } },
    ]);
    const cache = new SessionCache();
    const first = await cache.get(cc, server.fetchFn, 1000).catch((e) => e);
    expect(first).toBeInstanceOf(UpstreamError);
    expect(first).toMatchObject({ code: 'SALESFORCE_LOGIN_FAILED', statusCode: 400 });
    expect(first.message).toContain('invalid_client: invalid client credentials');
    expect(first.message).not.toContain('shh-secret');
    expect(isRetryable(first)).toBe(false);
    const second = await cache.get(cc, server.fetchFn, 1000).catch((e) => e);
    expect(isRetryable(second)).toBe(true);
    expect((await cache.get(cc, server.fetchFn, 1000)).accessToken).toBe('T');
  });
});
