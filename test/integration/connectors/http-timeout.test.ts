import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isTimeoutOrAbort, send } from '../../../lambdas/connectors/upstream-http';
import { nodeFetch, type HttpFetch } from '../../../lambdas/connectors/transport';
import { restWrapper } from '../../../lambdas/connectors/rest/wrapper';
import type { RestConnector } from '../../../lambdas/connectors/rest/schema';
import { parseConnector } from '../../../lambdas/connectors/schema';
import { isRetryable } from '../../../lambdas/domain/retry-policy';
import { toJobError } from '../../../lambdas/domain/job';
import { UpstreamError } from '../../../lambdas/shared/errors';

/**
 * Transport failures of the real global fetch and of the worker's nodeFetch,
 * caught in-process under jest. fetch throws DOMExceptions and TypeErrors from
 * Node's own realm, which fail `instanceof Error` inside jest's sandbox: the
 * mapping must go by `name`.
 */
const TIMEOUT_MS = 150;

let server: Server;
let base: string;
const pending = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    pending.add(res);
    res.on('close', () => pending.delete(res));
    if (req.url === '/slow-headers') return; // never answers: the client's timeout must fire
    if (req.url === '/slow-body') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":'); // headers and a first chunk now, the rest never
      return;
    }
    if (req.url === '/broken-body') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":', () => setTimeout(() => res.destroy(), 20)); // the connection drops mid-body
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of pending) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function restConnector(): RestConnector {
  const parsed = parseConnector(
    {
      connectorId: 'slow',
      type: 'rest',
      baseUrl: base,
      timeoutMs: TIMEOUT_MS,
      operations: {
        headers: { method: 'GET', path: '/slow-headers' },
        body: { method: 'GET', path: '/slow-body' },
        fast: { method: 'GET', path: '/fast' },
        broken: { method: 'GET', path: '/broken-body' },
      },
    },
    { allowPrivate: true },
  );
  if (!parsed.ok || parsed.connector.type !== 'rest') throw new Error(JSON.stringify(parsed));
  return parsed.connector;
}

const call = (fetchFn: HttpFetch, operationName: string) =>
  restWrapper.call(
    { connector: restConnector(), operationName, payload: {}, jobId: 'job-1' },
    { fetch: fetchFn, secrets: { get: async () => 'unused' } },
  );

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

test('the premise: fetch rejects with a TimeoutError that is not an instanceof Error here', async () => {
  const err = await caught(fetch(`${base}/slow-headers`, { signal: AbortSignal.timeout(TIMEOUT_MS) }));
  expect((err as { name?: string }).name).toBe('TimeoutError');
  expect(err instanceof Error).toBe(false); // why the old `instanceof Error` check mapped it to UPSTREAM_NETWORK_ERROR
  expect(isTimeoutOrAbort(err)).toBe(true);
});

describe.each([
  ['the real fetch', fetch as HttpFetch],
  ["nodeFetch (the worker's)", nodeFetch],
])('transport errors, in-process with %s', (_name, fetchFn) => {
  test('send: no answer within timeoutMs is UPSTREAM_TIMEOUT, and retryable', async () => {
    const started = Date.now();
    const err = await caught(send(fetchFn, `${base}/slow-headers`, { method: 'GET' }, TIMEOUT_MS));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({
      code: 'UPSTREAM_TIMEOUT',
      message: `The service did not answer within ${TIMEOUT_MS} ms (connector timeoutMs)`,
    });
    expect(isRetryable(err)).toBe(true);
  });

  test('REST wrapper: a service that never answers ends as a retryable UPSTREAM_TIMEOUT job error', async () => {
    const err = await caught(call(fetchFn, 'headers'));
    expect(toJobError(err)).toEqual({
      code: 'UPSTREAM_TIMEOUT',
      message: `The service did not answer within ${TIMEOUT_MS} ms (connector timeoutMs)`,
      retryable: true,
    });
  });

  test('REST wrapper: a body that stops arriving is UPSTREAM_TIMEOUT too, not a worker error', async () => {
    const err = await caught(call(fetchFn, 'body'));
    expect(toJobError(err)).toMatchObject({ code: 'UPSTREAM_TIMEOUT', retryable: true });
  });

  test('REST wrapper: a connection lost mid-body is a retryable UPSTREAM_NETWORK_ERROR', async () => {
    const err = await caught(call(fetchFn, 'broken'));
    expect(toJobError(err)).toMatchObject({ code: 'UPSTREAM_NETWORK_ERROR', retryable: true });
    expect((err as Error).message).toMatch(/^The answer of http:\/\/127\.0\.0\.1:\d+ broke off: /);
  });

  test('REST wrapper: a fast answer is unaffected', async () => {
    await expect(call(fetchFn, 'fast')).resolves.toEqual({ statusCode: 200, data: { ok: true } });
  });

  test('a refused connection is a retryable UPSTREAM_NETWORK_ERROR naming the cause', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const err = await caught(send(fetchFn, `http://127.0.0.1:${port}/x`, { method: 'GET' }, TIMEOUT_MS));
    expect(err).toMatchObject({ code: 'UPSTREAM_NETWORK_ERROR' });
    expect((err as Error).message).toMatch(
      new RegExp(`^Could not reach http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
    expect(isRetryable(err)).toBe(true);
  });
});

describe('isTimeoutOrAbort', () => {
  test('goes by name, on the error or its cause, whatever realm made it', () => {
    expect(isTimeoutOrAbort(new DOMException('t', 'TimeoutError'))).toBe(true);
    expect(isTimeoutOrAbort(new DOMException('a', 'AbortError'))).toBe(true);
    expect(isTimeoutOrAbort({ name: 'AbortError', message: 'plain object from another realm' })).toBe(true);
    expect(isTimeoutOrAbort(new TypeError('fetch failed', { cause: new DOMException('t', 'TimeoutError') }))).toBe(
      true,
    );
    expect(
      isTimeoutOrAbort(
        new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
        }),
      ),
    ).toBe(false);
    expect(isTimeoutOrAbort(new Error('TimeoutError'))).toBe(false);
    expect(isTimeoutOrAbort(undefined)).toBe(false);
    expect(isTimeoutOrAbort('TimeoutError')).toBe(false);
  });
});
