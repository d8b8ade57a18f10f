import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { send } from '../../../lambdas/connectors/upstream-http';
import { nodeFetch, type HttpFetch } from '../../../lambdas/connectors/transport';

/**
 * The worker's nodeFetch against real servers on 127.0.0.1, side by side with
 * Node's fetch: what the wrappers read of an answer must be the same.
 */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

async function serve(handler: (req: IncomingMessage, body: string, res: import('node:http').ServerResponse) => void) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    seen,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let other: Awaited<ReturnType<typeof serve>>;
let main: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  // Another origin (another port), for cross-origin redirects.
  other = await serve((_req, _body, res) => res.end('elsewhere'));
  main = await serve((req, _body, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    switch (path) {
      case '/json':
        res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'r-1', 'set-cookie': ['a=1', 'b=2'] });
        return res.end('{"created":true}');
      case '/echo':
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end(`${req.method}`);
      case '/see-other':
        res.writeHead(303, { location: '/echo' });
        return res.end();
      case '/found':
        res.writeHead(302, { location: '/echo' });
        return res.end();
      case '/temporary':
        res.writeHead(307, { location: '/echo' });
        return res.end();
      case '/away':
        res.writeHead(302, { location: `${other.url}/landing` });
        return res.end();
      case '/empty':
        res.writeHead(204);
        return res.end();
      case '/gzip':
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        return res.end(gzipSync('{"zipped":true}'));
      case '/bad-gzip':
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        return res.end('not gzip at all');
      default:
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end('{"message":"no such thing"}');
    }
  });
});

afterAll(async () => {
  await main.close();
  await other.close();
});

beforeEach(() => {
  main.seen.length = 0;
  other.seen.length = 0;
});

async function view(response: Response) {
  return {
    status: response.status,
    ok: response.ok,
    statusText: response.statusText,
    contentType: response.headers.get('content-type'),
    contentEncoding: response.headers.get('content-encoding'),
    text: await response.text(),
  };
}

const transports: Array<[string, HttpFetch]> = [
  ['fetch', fetch],
  ['nodeFetch', nodeFetch],
];

describe.each(transports)('%s', (_name, fetchFn) => {
  test('status, reason phrase, headers (several set-cookie) and body', async () => {
    const response = await fetchFn(`${main.url}/json`, { method: 'GET' });
    expect(await view(response)).toEqual({
      status: 201,
      ok: true,
      statusText: 'Created',
      contentType: 'application/json',
      contentEncoding: null,
      text: '{"created":true}',
    });
    expect(response.headers.get('x-request-id')).toBe('r-1');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  });

  test('sends the method, headers and a string or Buffer body with its length, plus a user agent and accept', async () => {
    await fetchFn(`${main.url}/echo?x=1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer t' },
      body: '{"a":1}',
    });
    await fetchFn(`${main.url}/echo`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([1, 2, 3]),
    });
    const [post, put] = main.seen;
    expect(post).toMatchObject({ method: 'POST', url: '/echo?x=1', body: '{"a":1}' });
    expect(post!.headers).toMatchObject({
      'content-type': 'application/json',
      authorization: 'Bearer t',
      'content-length': '7',
      accept: '*/*',
    });
    expect(post!.headers['user-agent']).toBeTruthy();
    expect(put).toMatchObject({ method: 'PUT', body: '\u0001\u0002\u0003' });
    expect(put!.headers['content-length']).toBe('3');
  });

  test('follows redirects as fetch does when asked to: 303 and 302 after POST become GET, 307 keeps the method and body', async () => {
    const follow = { method: 'POST', redirect: 'follow' } as const;
    expect(await (await fetchFn(`${main.url}/see-other`, { ...follow, body: 'x' })).text()).toBe('GET');
    expect(await (await fetchFn(`${main.url}/found`, { ...follow, body: 'x' })).text()).toBe('GET');
    expect(await (await fetchFn(`${main.url}/temporary`, { ...follow, body: 'keep me' })).text()).toBe('POST');
    expect(main.seen.at(-1)).toMatchObject({ method: 'POST', url: '/echo', body: 'keep me' });
  });

  test('through send(): a GET follows a redirect, a POST gets the 3xx as its answer', async () => {
    expect(await (await send(fetchFn, `${main.url}/found`, { method: 'GET' }, 5000)).text()).toBe('GET');
    const post = await send(fetchFn, `${main.url}/temporary`, { method: 'POST', body: 'once' }, 5000);
    expect(post.status).toBe(307);
    expect(main.seen.map((c) => `${c.method} ${c.url}`)).toEqual(['GET /found', 'GET /echo', 'POST /temporary']);
  });

  test('a redirect to another origin does not carry the credentials along', async () => {
    const response = await fetchFn(`${main.url}/away`, { method: 'GET', headers: { authorization: 'Bearer secret' } });
    expect(await response.text()).toBe('elsewhere');
    expect(main.seen[0]!.headers.authorization).toBe('Bearer secret');
    expect(other.seen[0]!.headers.authorization).toBeUndefined();
  });

  test('204 has no body; an error status keeps its body', async () => {
    expect(await view(await fetchFn(`${main.url}/empty`, { method: 'DELETE' }))).toMatchObject({
      status: 204,
      text: '',
    });
    expect(await view(await fetchFn(`${main.url}/missing`, { method: 'GET' }))).toMatchObject({
      status: 404,
      ok: false,
      statusText: 'Not Found',
      text: '{"message":"no such thing"}',
    });
  });

  test('a gzip answer is decoded', async () => {
    const response = await fetchFn(`${main.url}/gzip`, { method: 'GET' });
    expect(await response.text()).toBe('{"zipped":true}');
    expect(main.seen[0]!.headers['accept-encoding']).toMatch(/gzip/);
  });
});

test('nodeFetch: a broken encoding is an answer that broke off (retryable network error), not a worker error', async () => {
  const err = await send(nodeFetch, `${main.url}/bad-gzip`, { method: 'GET' }, 2000).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'UPSTREAM_NETWORK_ERROR' });
  expect((err as Error).message).toMatch(
    /^The answer of http:\/\/127\.0\.0\.1:\d+ broke off: its gzip encoding is broken/,
  );
});

test('nodeFetch: header names are sent in lower case, a caller header overrides a default one', async () => {
  await nodeFetch(`${main.url}/echo`, {
    method: 'GET',
    headers: { 'User-Agent': 'salesforce-bridge-test', Accept: 'application/json' },
  });
  expect(main.seen[0]!.headers).toMatchObject({ 'user-agent': 'salesforce-bridge-test', accept: 'application/json' });
});

describe('nodeFetch connections', () => {
  let flaky: Server;
  let flakyUrl: string;
  const served = new Map<unknown, number>();
  let hangUpFresh = false;

  beforeAll(async () => {
    // Answers a socket's first request; a second request on the same kept-alive
    // socket finds it closed (what a server's idle timeout does, racing the reuse).
    flaky = createServer((req, res) => {
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      if (n > 1 || hangUpFresh) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`fresh socket ${served.size}`);
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    flakyUrl = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    flaky.closeAllConnections();
    await new Promise<void>((resolve) => flaky.close(() => resolve()));
  });

  test('a kept-alive socket the server closed is retried once on a new one', async () => {
    expect(await (await nodeFetch(`${flakyUrl}/a`, { method: 'POST', body: 'one' })).text()).toBe('fresh socket 1');
    expect(await (await nodeFetch(`${flakyUrl}/b`, { method: 'POST', body: 'two' })).text()).toBe('fresh socket 2');
  });

  test('a fresh connection that hangs up is a failure (no answer), not retried', async () => {
    hangUpFresh = true;
    const before = served.size;
    const err = await nodeFetch(`${flakyUrl}/c`, { method: 'GET' }).catch((e: unknown) => e);
    hangUpFresh = false;
    expect(err).toBeInstanceOf(TypeError);
    expect((err as TypeError).cause).toMatchObject({ code: 'ECONNRESET' });
    // One new socket for the request (the retry is only for reused sockets), possibly one more if a kept-alive one was tried first.
    expect(served.size - before).toBeLessThanOrEqual(2);
  });

  test('a redirect loop stops after 5 redirects: the 6th 3xx is the answer', async () => {
    const loop = await serve((req, _body, res) => {
      res.writeHead(302, { location: req.url === '/a' ? '/b' : '/a' });
      res.end();
    });
    const response = await nodeFetch(`${loop.url}/a`, { method: 'GET' }).finally(() => loop.close());
    expect(response.status).toBe(302);
    expect(loop.seen).toHaveLength(6);
  });

  test('a redirect to another origin keeps only harmless headers: no API key, secret header or marked header', async () => {
    const response = await nodeFetch(`${main.url}/away`, {
      method: 'GET',
      headers: {
        authorization: 'Bearer s',
        'X-Api-Key': 'k',
        'x-viber-auth-token': 'v',
        'x-custom-secret': 'c',
        cookie: 'a=1',
        'x-correlation-id': 'corr',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        'content-language': 'secret-in-a-harmless-name',
        accept: 'application/json',
      },
      sensitiveHeaders: ['Content-Language'],
    });
    expect(await response.text()).toBe('elsewhere');
    expect(main.seen[0]!.headers).toMatchObject({
      'x-api-key': 'k',
      'x-viber-auth-token': 'v',
      'x-custom-secret': 'c',
    });
    const carried = other.seen[0]!.headers;
    for (const name of [
      'authorization',
      'x-api-key',
      'x-viber-auth-token',
      'x-custom-secret',
      'cookie',
      'content-language',
    ])
      expect(carried[name]).toBeUndefined();
    expect(carried).toMatchObject({
      'x-correlation-id': 'corr',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      accept: 'application/json',
      'user-agent': 'crm-bridge',
    });
  });

  test('a redirect within the origin keeps every header', async () => {
    await nodeFetch(`${main.url}/found`, { method: 'GET', headers: { 'x-api-key': 'k' } });
    expect(main.seen.map((c) => c.headers['x-api-key'])).toEqual(['k', 'k']);
  });

  test('redirect "manual" returns a GET\'s 3xx; "follow" follows a DELETE', async () => {
    const manual = await nodeFetch(`${main.url}/found`, { method: 'GET', redirect: 'manual' });
    expect(manual.status).toBe(302);
    expect(manual.headers.get('location')).toBe('/echo');
    expect(await (await nodeFetch(`${main.url}/temporary`, { method: 'DELETE', redirect: 'follow' })).text()).toBe(
      'DELETE',
    );
    expect(main.seen.map((c) => `${c.method} ${c.url}`)).toEqual(['GET /found', 'DELETE /temporary', 'DELETE /echo']);
  });

  test('HEAD answers have no body', async () => {
    const response = await nodeFetch(`${main.url}/json`, { method: 'HEAD' });
    expect(response.status).toBe(201);
    expect(await response.text()).toBe('');
  });
});

describe('nodeFetch over HTTPS', () => {
  let tls: import('node:https').Server;
  let tlsUrl: string;
  let dir: string;

  beforeAll(async () => {
    const selfsigned = await import('selfsigned');
    const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    dir = mkdtempSync(join(tmpdir(), 'crm-bridge-tls-'));
    writeFileSync(join(dir, 'ca.pem'), pems.cert);
    tls = createHttpsServer({ key: pems.private, cert: pems.cert }, (req, res) => {
      if (req.url === '/downgrade') {
        res.writeHead(302, { location: `${main.url}/echo` });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"tls":true}');
    });
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    tlsUrl = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    tls.closeAllConnections();
    await new Promise<void>((resolve) => tls.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('certificates are verified: a certificate nobody vouches for is refused', async () => {
    const err = await send(nodeFetch, `${tlsUrl}/x`, { method: 'GET' }, 5000).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UPSTREAM_NETWORK_ERROR' });
    expect((err as Error).message).toMatch(/^Could not reach https:\/\/127\.0\.0\.1:\d+: self.signed certificate/);
  });

  test('a trusted certificate (NODE_EXTRA_CA_CERTS, as on Lambda) gets the answer', async () => {
    const script = `require('./lambdas/connectors/transport').nodeFetch(${JSON.stringify(`${tlsUrl}/x`)}, { method: 'GET' }).then(async (r) => console.log(r.status, await r.text()), (e) => { console.log('failed', e.cause?.code ?? e.message); })`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      cwd: join(__dirname, '../../..'),
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') },
    });
    expect(stdout.trim()).toBe('200 {"tls":true}');
  });

  test('a redirect from https to http is not followed: the 3xx is the answer', async () => {
    const script = `require('./lambdas/connectors/transport').nodeFetch(${JSON.stringify(`${tlsUrl}/downgrade`)}, { method: 'GET', headers: { authorization: 'Bearer s' } }).then((r) => console.log(r.status, r.headers.get('location')), (e) => { console.log('failed', e.cause?.code ?? e.message); })`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      cwd: join(__dirname, '../../..'),
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') },
    });
    expect(stdout.trim()).toBe(`302 ${main.url}/echo`);
    expect(main.seen).toHaveLength(0);
  });
});
