import { TokenCache, type ClientCredentials } from '../../../lambdas/connectors/oauth2';
import { isRetryable } from '../../../lambdas/domain/retry-policy';

/** A token endpoint as a fetch function: records each request and answers with the next scripted response. */
function tokenEndpoint(answer: (n: number) => { status?: number; body: unknown }) {
  const requests: Array<{ url: string; headers: Record<string, string>; form: URLSearchParams }> = [];
  const fetchFn = (async (url: string, init: RequestInit) => {
    requests.push({
      url,
      headers: init.headers as Record<string, string>,
      form: new URLSearchParams(String(init.body)),
    });
    const a = answer(requests.length);
    return new Response(JSON.stringify(a.body), {
      status: a.status ?? 200,
      headers: { 'content-type': 'application/json' },
    });
  }) as unknown as typeof fetch;
  return { fetchFn, requests };
}

const creds: ClientCredentials = {
  tokenUrl: 'https://idp.example/token',
  clientId: 'id-1',
  clientSecret: 's3cr3t',
  scope: 'a b',
  audience: 'aud',
  authMethod: 'basic',
};

test('a token is reused until 60 s before it expires', async () => {
  let now = 1_000_000;
  const cache = new TokenCache(() => now);
  const idp = tokenEndpoint((n) => ({ body: { access_token: `t${n}`, expires_in: 3600 } }));
  expect(await cache.get(creds, idp.fetchFn, 1000)).toBe('t1');
  now += 3539_000;
  expect(await cache.get(creds, idp.fetchFn, 1000)).toBe('t1');
  now += 2_000;
  expect(await cache.get(creds, idp.fetchFn, 1000)).toBe('t2');
  expect(idp.requests).toHaveLength(2);
  const { headers, form } = idp.requests[0]!;
  expect(headers.authorization).toBe(`Basic ${Buffer.from('id-1:s3cr3t').toString('base64')}`);
  expect(Object.fromEntries(form)).toEqual({ grant_type: 'client_credentials', scope: 'a b', audience: 'aud' });
});

test('different scopes or audiences get their own tokens; client_secret_post sends credentials in the form', async () => {
  const cache = new TokenCache(() => 0);
  const idp = tokenEndpoint((n) => ({ body: { access_token: `t${n}` } }));
  await cache.get(creds, idp.fetchFn, 1000);
  await cache.get({ ...creds, scope: 'c' }, idp.fetchFn, 1000);
  await cache.get({ ...creds, scope: 'c', authMethod: 'body' }, idp.fetchFn, 1000); // same key: cached
  expect(idp.requests).toHaveLength(2);
  const post = new TokenCache(() => 0);
  await post.get({ ...creds, authMethod: 'body' }, idp.fetchFn, 1000);
  expect(idp.requests[2]!.headers.authorization).toBeUndefined();
  expect(idp.requests[2]!.form.get('client_secret')).toBe('s3cr3t');
});

test('without expires_in a token lives 5 minutes', async () => {
  let now = 0;
  const cache = new TokenCache(() => now);
  const idp = tokenEndpoint((n) => ({ body: { access_token: `t${n}` } }));
  await cache.get(creds, idp.fetchFn, 1000);
  now = 239_000;
  expect(await cache.get(creds, idp.fetchFn, 1000)).toBe('t1');
  now = 241_000;
  expect(await cache.get(creds, idp.fetchFn, 1000)).toBe('t2');
});

test('refused credentials are not retried, an unavailable endpoint is; failures are not cached; the secret is never in the message', async () => {
  const cache = new TokenCache(() => 0);
  const idp = tokenEndpoint((n) =>
    n === 1
      ? { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } }
      : n === 2
        ? { status: 503, body: {} }
        : { body: { access_token: 'ok' } },
  );
  const refused = await cache.get(creds, idp.fetchFn, 1000).catch((e) => e);
  expect(refused).toMatchObject({ code: 'OAUTH_TOKEN_FAILED', statusCode: 401 });
  expect(refused.message).toContain('invalid_client: Client authentication failed');
  expect(refused.message).not.toContain('s3cr3t');
  expect(isRetryable(refused)).toBe(false);
  const down = await cache.get(creds, idp.fetchFn, 1000).catch((e) => e);
  expect(isRetryable(down)).toBe(true);
  expect(await cache.get(creds, idp.fetchFn, 1000)).toBe('ok');
});
