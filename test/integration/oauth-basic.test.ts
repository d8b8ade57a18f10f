import { formUrlEncode, TokenCache, type ClientCredentials } from '../../lambdas/connectors/oauth2';
import { restWrapper } from '../../lambdas/connectors/rest/wrapper';
import { restConnectorSchema } from '../../lambdas/connectors/rest/schema';
import { nodeFetch } from '../../lambdas/connectors/transport';
import { startFakeOAuth, type FakeOAuth } from '../support/fake-oauth';
import { startFakeUpstream, type FakeUpstream } from '../../local/fake-upstream';

/** client_secret_basic against token endpoints on 127.0.0.1: one that decodes as RFC 6749 §2.3.1 says, one that takes the raw values. */
const CLIENT_ID = 'crm bridge:app';
/** Raw Basic credentials cannot carry a ":" in the id (the reason the RFC encodes them). */
const RAW_ID = 'crm-bridge-app';
const SECRET = 'a+b/c=d%e~f g!';
let rfc: FakeOAuth;
let raw: FakeOAuth;
let api: FakeUpstream;

beforeAll(async () => {
  [rfc, raw, api] = await Promise.all([
    startFakeOAuth({ clientId: CLIENT_ID, clientSecret: SECRET }),
    startFakeOAuth({ clientId: RAW_ID, clientSecret: SECRET, basic: 'raw' }),
    startFakeUpstream(),
  ]);
  api.route('GET /api/me', (call) => ({ json: { auth: call.headers.authorization } }));
});
afterAll(async () => {
  await Promise.all([rfc?.close(), raw?.close(), api?.close()]);
});

const creds = (tokenUrl: string, extra: Partial<ClientCredentials> = {}): ClientCredentials => ({
  tokenUrl,
  clientId: CLIENT_ID,
  clientSecret: SECRET,
  authMethod: 'basic',
  ...extra,
});

test('the form encoding of RFC 6749 Appendix B: space as "+", and !\'()*~ escaped', () => {
  expect(formUrlEncode(SECRET)).toBe('a%2Bb%2Fc%3Dd%25e%7Ef+g%21');
  expect(formUrlEncode("it's (*)")).toBe('it%27s+%28%2A%29');
  expect(formUrlEncode('plain-Id_1.x')).toBe('plain-Id_1.x');
});

test('client_secret_basic with a secret holding + / = % ~ and a space: the header is form-encoded and the endpoint decodes it', async () => {
  const token = await new TokenCache().get(creds(rfc.tokenUrl), nodeFetch, 2000);
  expect(token).toMatch(/^fake-access-token-/);
  const header = rfc.requests.at(-1)!.headers.authorization!;
  expect(Buffer.from(header.replace(/^Basic /, ''), 'base64').toString()).toBe(
    'crm+bridge%3Aapp:a%2Bb%2Fc%3Dd%25e%7Ef+g%21',
  );
});

test('basicEncoding "none" sends the raw values, for servers that do not decode; the form encoding fails there', async () => {
  expect(
    await new TokenCache()
      .get(creds(raw.tokenUrl, { clientId: 'plain-id', basicEncoding: 'none' }), nodeFetch, 2000)
      .catch((e) => e),
  ).toMatchObject({
    code: 'OAUTH_TOKEN_FAILED',
    statusCode: 401,
  }); // wrong id on purpose: proves the endpoint checks
  expect(
    await new TokenCache().get(creds(raw.tokenUrl, { clientId: RAW_ID, basicEncoding: 'none' }), nodeFetch, 2000),
  ).toMatch(/^fake-access-token-/);
  expect(Buffer.from(raw.requests.at(-1)!.headers.authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe(
    `${RAW_ID}:${SECRET}`,
  );
  expect(
    await new TokenCache().get(creds(raw.tokenUrl, { clientId: RAW_ID }), nodeFetch, 2000).catch((e) => e),
  ).toMatchObject({ code: 'OAUTH_TOKEN_FAILED', statusCode: 401 });
});

test('a REST connector takes basicEncoding from its oauth2ClientCredentials auth (default "form")', async () => {
  const row = (tokenUrl: string, auth: Record<string, unknown> = {}, clientId = CLIENT_ID) =>
    restConnectorSchema.parse({
      connectorId: `oauth-${Math.random().toString(36).slice(2)}`,
      type: 'rest',
      baseUrl: `${api.url}/api`,
      auth: { type: 'oauth2ClientCredentials', tokenUrl, clientId, clientSecret: { secret: 'cs' }, ...auth },
      operations: { me: { method: 'GET', path: '/me' } },
    });
  const deps = { secrets: { get: async () => SECRET }, fetch: nodeFetch };
  const viaRfc = await restWrapper.call(
    { connector: row(rfc.tokenUrl), operationName: 'me', payload: {}, jobId: 'j1' },
    deps,
  );
  expect(viaRfc.data).toEqual({ auth: expect.stringMatching(/^Bearer fake-access-token-/) });
  const viaRaw = await restWrapper.call(
    { connector: row(raw.tokenUrl, { basicEncoding: 'none' }, RAW_ID), operationName: 'me', payload: {}, jobId: 'j2' },
    deps,
  );
  expect(viaRaw.data).toEqual({ auth: expect.stringMatching(/^Bearer fake-access-token-/) });
  expect(() => row(rfc.tokenUrl, { basicEncoding: 'percent' })).toThrow();
});
