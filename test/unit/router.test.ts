import { z } from 'zod';
import { Router, validate, MAX_BODY_BYTES } from '../../lambdas/routes/router';
import { AppError, ConflictError, InvalidRequestError } from '../../lambdas/shared/errors';
import { errorResponse, json } from '../../lambdas/shared/responses';
import { apiEvent } from '../support/events';

const silent = { error: jest.fn() };

function router() {
  return new Router([
    {
      method: 'GET',
      path: '/v1/things/{id}',
      handler: async (req) => json(200, { id: req.params.id, q: req.query, h: req.headers['x-thing'] }),
    },
    { method: 'POST', path: '/v1/things', handler: async (req) => json(201, req.body) },
  ]);
}

async function call(event: Parameters<Router['handle']>[0]) {
  try {
    return await router().handle(event);
  } catch (err) {
    return errorResponse(err, silent, 'req-1');
  }
}

test('matches path parameters (decoded), query and lower-cased headers', async () => {
  const res = await call(
    apiEvent({ method: 'GET', path: '/v1/things/a%20b', query: { x: '1' }, headers: { 'X-Thing': 'yes' } }),
  );
  expect(res.statusCode).toBe(200);
  expect(JSON.parse(res.body)).toEqual({ id: 'a b', q: { x: '1' }, h: 'yes' });
});

test('parses JSON bodies, including base64-encoded ones', async () => {
  const res = await call(
    apiEvent({
      method: 'POST',
      path: '/v1/things',
      body: Buffer.from('{"a":1}').toString('base64'),
      isBase64Encoded: true,
    }),
  );
  expect(res.statusCode).toBe(201);
  expect(JSON.parse(res.body)).toEqual({ a: 1 });
});

test.each([
  ['unknown path', { method: 'GET', path: '/v2/nope' }, 404, 'ROUTE_NOT_FOUND'],
  ['wrong method', { method: 'DELETE', path: '/v1/things' }, 405, 'METHOD_NOT_ALLOWED'],
  ['bad JSON', { method: 'POST', path: '/v1/things', body: '{' }, 400, 'INVALID_REQUEST'],
  [
    'too large',
    { method: 'POST', path: '/v1/things', body: JSON.stringify({ s: 'x'.repeat(MAX_BODY_BYTES) }) },
    413,
    'PAYLOAD_TOO_LARGE',
  ],
])('%s -> %i %s', async (_n, ev, status, code) => {
  const res = await call(apiEvent(ev));
  expect(res.statusCode).toBe(status);
  expect(JSON.parse(res.body).error.code).toBe(code);
});

test('validate names each bad field with its JSON path', () => {
  const schema = z.object({ a: z.object({ b: z.number() }).strict() }).strict();
  expect(() => validate(schema, { a: { b: 'x' } }, 'body')).toThrow(/\$\.a\.b/);
  expect(() => validate(schema, { a: { b: 1 }, c: 1 }, 'body')).toThrow(InvalidRequestError);
});

describe('errorResponse', () => {
  test('4xx errors show their code and message', () => {
    const res = errorResponse(new ConflictError('CONNECTOR_DISABLED', 'it is off'), silent);
    expect(res.statusCode).toBe(409);
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'CONNECTOR_DISABLED', message: 'it is off' } });
  });
  test('unexpected errors hide their details and are logged', () => {
    const logger = { error: jest.fn() };
    const res = errorResponse(new Error('secret=hunter2 at /var/task/index.js:12'), logger, 'req-9');
    expect(res.statusCode).toBe(500);
    const body = JSON.parse(res.body);
    expect(body.error.code).toBe('INTERNAL_ERROR');
    expect(body.error.requestId).toBe('req-9');
    expect(res.body).not.toContain('hunter2');
    expect(logger.error).toHaveBeenCalled();
  });
  test('5xx AppErrors keep their code but are logged', () => {
    const logger = { error: jest.fn() };
    const res = errorResponse(new AppError('QUEUE_UNAVAILABLE', 'retry shortly', 503), logger);
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body).error.code).toBe('QUEUE_UNAVAILABLE');
    expect(logger.error).toHaveBeenCalled();
  });
});

describe('hostile input', () => {
  test('malformed percent-encoding in a path parameter -> 400 INVALID_REQUEST', async () => {
    const res = await call(apiEvent({ method: 'GET', path: '/v1/things/%ZZ' }));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe('INVALID_REQUEST');
  });

  test('every JSON body is checked before the route runs -> 400 INVALID_PAYLOAD', async () => {
    for (const body of [
      '{"a":1e308}',
      '{"a":{"__proto__":{}}}',
      '['.repeat(100_000) + ']'.repeat(100_000),
      '"\\ud800"',
    ]) {
      const res = await call(apiEvent({ method: 'POST', path: '/v1/things', body }));
      expect({ status: res.statusCode, code: JSON.parse(res.body).error?.code }).toEqual({
        status: 400,
        code: 'INVALID_PAYLOAD',
      });
    }
  });

  test('query parameters and headers named like Object.prototype members are own keys', async () => {
    const res = await call(
      apiEvent({
        method: 'GET',
        path: '/v1/things/a',
        query: { ['__proto__']: 'q' },
        headers: { ['__proto__']: 'h', 'X-Thing': 'yes' },
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ id: 'a', q: { ['__proto__']: 'q' }, h: 'yes' });
  });
});
