import { connect, type AddressInfo } from 'node:net';
import { get, type Server } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createApiGateway } from '../../local/api-gateway';

// The local API Gateway runs a bounded number of controller invocations at once; the rest wait, none is refused.
let server: Server;
let base: string;
const seen = { running: 0, peak: 0 };

async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  seen.running += 1;
  seen.peak = Math.max(seen.peak, seen.running);
  await new Promise((r) => setTimeout(r, 30));
  seen.running -= 1;
  return { statusCode: 200, body: JSON.stringify({ path: event.path }) };
}

beforeAll(async () => {
  server = createApiGateway(handler, 'k', { maxConcurrency: 2 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

test('eight requests at once: all answered, never more than two invocations running', async () => {
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) => fetch(`${base}/v1/jobs/${i}`, { headers: { 'x-api-key': 'k' } })),
  );
  expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
  const bodies = (await Promise.all(answers.map((a) => a.json()))) as Array<{ path: string }>;
  expect(bodies.map((b) => b.path).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `/v1/jobs/${i}`).sort());
  expect(seen.peak).toBe(2);
});

test('a request refused for its key never takes a place', async () => {
  seen.peak = 0;
  const refused = await fetch(`${base}/v1/jobs/x`);
  expect(refused.status).toBe(401);
  expect(seen.peak).toBe(0);
});

describe('names like Object.prototype members', () => {
  // Its own gateway with a handler that shows what the event carried.
  let echo: Server;
  let echoBase: string;
  beforeAll(async () => {
    echo = createApiGateway(
      async (event) => ({
        statusCode: 200,
        body: JSON.stringify({
          headers: event.headers,
          multi: event.multiValueHeaders,
          query: event.queryStringParameters,
          multiQuery: event.multiValueQueryStringParameters,
        }),
      }),
      'k',
    );
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoBase = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => echo.close(() => r()));
  });

  test.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'a query parameter and a header named %s reach the handler as own keys, no 502',
    async (name) => {
      // node:http, not fetch: fetch drops a header named __proto__.
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        get(`${echoBase}/v1/jobs/x?${name}=1&${name}=2`, { headers: { 'x-api-key': 'k', [name]: 'h' } }, (r) => {
          let body = '';
          r.on('data', (c) => (body += c));
          r.on('end', () => resolve({ status: r.statusCode!, body }));
        }).on('error', reject);
      });
      expect(res.status).toBe(200);
      const seenEvent = JSON.parse(res.body) as Record<string, Record<string, unknown>>;
      expect(seenEvent.query![name]).toBe('2');
      expect(seenEvent.multiQuery![name]).toEqual(['1', '2']);
      expect(seenEvent.headers![name]).toBe('h');
      expect(seenEvent.multi![name]).toEqual(['h']);
    },
  );
});

test('a request line no URL parser accepts gets a 400 envelope, and the gateway keeps serving', async () => {
  // A raw socket: fetch and node:http normalise the path; `//[` reaches the server as is and makes new URL() throw.
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1', () =>
      socket.end('GET //[ HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\nConnection: close\r\n\r\n'),
    );
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (text += c));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  // The body is chunked; the JSON envelope is its one chunk.
  expect(JSON.parse(/\{.*\}/.exec(answer)![0])).toEqual({
    error: { code: 'INVALID_REQUEST', message: 'The request URL is malformed' },
  });
  const after = await fetch(`${base}/v1/jobs/after`, { headers: { 'x-api-key': 'k' } });
  expect(after.status).toBe(200);
});
