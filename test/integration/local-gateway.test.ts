import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
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
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => fetch(`${base}/v1/jobs/${i}`, { headers: { 'x-api-key': 'k' } })));
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
