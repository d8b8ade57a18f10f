import { MAX_JSON_DEPTH } from '../../lambdas/routes/json-input';
import { startApiHandler, type ApiUnderTest } from '../support/api-handler';
import { apiEvent } from '../support/events';

/**
 * Bad input gets a 4xx with the error envelope, never a 500 and never a job:
 * the real controller Lambda on dynalite and fauxqs.
 */
let api: ApiUnderTest;

beforeAll(async () => {
  api = await startApiHandler();
});

afterAll(async () => {
  await api?.stop();
});

interface Answer {
  status: number;
  body: any;
}

async function call(
  method: string,
  path: string,
  opts: { body?: string; query?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await api.handler(
    apiEvent({ method, path, body: opts.body ?? null, query: opts.query, headers: opts.headers }),
  );
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
}

function expectError(res: Answer, status: number, code: string) {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(typeof res.body.error.message).toBe('string');
}

const submit = (payloadJson: string, headers: Record<string, string> = {}) =>
  call('POST', '/v1/callouts/echo/echo', { body: `{"payload":${payloadJson}}`, headers });

/** `levels` nested objects around a scalar, as JSON text (built without recursion). */
const nested = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

describe('malformed percent-encoding in a path parameter', () => {
  test.each([
    ['GET', '/v1/jobs/%ZZ'],
    ['GET', '/v1/jobs/%E0%A4%A'],
    ['GET', '/v1/files/%ZZ'],
    ['DELETE', '/v1/files/%'],
    ['POST', '/v1/files/%ZZ/complete'],
    ['POST', '/v1/files/%C0%AF/parts'],
    ['POST', '/v1/callouts/%ZZ/echo'],
    ['POST', '/v1/callouts/echo/%ZZ'],
  ])('%s %s -> 400 INVALID_REQUEST', async (method, path) => {
    expectError(await call(method, path, { body: '{"payload":{}}' }), 400, 'INVALID_REQUEST');
  });
});

describe('numbers DynamoDB cannot store', () => {
  test.each([
    ['1e200', '{"x":1e200}'],
    ['1e308', '{"x":1e308}'],
    ['1e400 (Infinity once parsed)', '{"x":1e400}'],
    ['-1e126', '[1,2,-1e126]'],
    ['1e-200 (underflow)', '{"x":{"y":[1e-200]}}'],
    ['a bare 1e300 payload', '1e300'],
  ])('%s in a callout payload -> 400 INVALID_PAYLOAD', async (_name, payload) => {
    const res = await submit(payload);
    expectError(res, 400, 'INVALID_PAYLOAD');
    expect(res.body.error.message).toMatch(/\$\.payload/);
  });

  test('the edges of the range are accepted', async () => {
    expect(
      (await submit('{"small":1e-130,"big":-9.99999999999999e125,"zero":0,"negZero":-0,"tiny":1e-400}')).status,
    ).toBe(202);
  });

  test('anywhere in a JSON body, checked before the route schema (file create)', async () => {
    expectError(
      await call('POST', '/v1/files', { body: '{"fileName":"a.pdf","contentType":"application/pdf","size":1e308}' }),
      400,
      'INVALID_PAYLOAD',
    );
  });
});

describe('__proto__, constructor and prototype keys', () => {
  test.each([
    ['__proto__ at the top of the payload', '{"__proto__":{"polluted":true}}'],
    ['__proto__ deep down', '{"a":[{"b":{"__proto__":1}}]}'],
    ['constructor', '{"constructor":{"prototype":{"x":1}}}'],
    ['prototype in an array item', '[{"prototype":1}]'],
  ])('%s -> 400 INVALID_PAYLOAD', async (_name, payload) => {
    const res = await submit(payload);
    expectError(res, 400, 'INVALID_PAYLOAD');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('also in the body itself and in other routes', async () => {
    expectError(
      await call('POST', '/v1/callouts/echo/echo', { body: '{"payload":1,"__proto__":{"recordId":"x"}}' }),
      400,
      'INVALID_PAYLOAD',
    );
    expectError(await call('POST', '/v1/files/f-1/complete', { body: '{"constructor":1}' }), 400, 'INVALID_PAYLOAD');
  });
});

describe('nesting', () => {
  test(`a payload of ${MAX_JSON_DEPTH - 1} levels is stored (the body around it is the ${MAX_JSON_DEPTH}th)`, async () => {
    const res = await submit(nested(MAX_JSON_DEPTH - 1));
    expect(res.status).toBe(202);
    const job = await call('GET', `/v1/jobs/${res.body.jobId}`);
    expect(job.status).toBe(200);
  });

  test.each([MAX_JSON_DEPTH, 100, 5000])('a payload of %i levels -> 400 INVALID_PAYLOAD', async (levels) => {
    expectError(await submit(nested(levels)), 400, 'INVALID_PAYLOAD');
  });

  test('5000 levels of arrays with an Idempotency-Key (hashed for the key) -> 400, no stack overflow', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    expectError(await submit(deep, { 'Idempotency-Key': 'deep-1' }), 400, 'INVALID_PAYLOAD');
  });
});

describe('nextToken of the files listing', () => {
  const token = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  test.each([
    ['only the recordId', token({ recordId: 'r1' })],
    ['an extra attribute', token({ recordId: 'r1', fileId: 'f', createdAt: '2026-01-01T00:00:00.000Z', admin: true })],
    ['a key of the wrong type', token({ recordId: 'r1', fileId: { S: 'f' }, createdAt: '2026-01-01T00:00:00.000Z' })],
    ['an empty fileId', token({ recordId: 'r1', fileId: '', createdAt: '2026-01-01T00:00:00.000Z' })],
    ['JSON null', token(null)],
    ['an array', token(['r1'])],
    ['another recordId', token({ recordId: 'r2', fileId: 'f', createdAt: '2026-01-01T00:00:00.000Z' })],
    ['not base64 JSON', '%%%'],
  ])('%s -> 400 INVALID_REQUEST', async (_name, nextToken) => {
    expectError(await call('GET', '/v1/files', { query: { recordId: 'r1', nextToken } }), 400, 'INVALID_REQUEST');
  });

  test('a token the listing gave back is accepted', async () => {
    for (let i = 0; i < 3; i += 1) {
      const created = await call('POST', '/v1/files', {
        body: JSON.stringify({ fileName: `f${i}.txt`, contentType: 'text/plain', size: 3, recordId: 'r-page' }),
      });
      expect(created.status).toBe(201);
    }
    const first = await call('GET', '/v1/files', { query: { recordId: 'r-page', limit: '2' } });
    expect(first.status).toBe(200);
    expect(first.body.nextToken).toEqual(expect.any(String));
    const second = await call('GET', '/v1/files', {
      query: { recordId: 'r-page', limit: '2', nextToken: first.body.nextToken },
    });
    expect(second.status).toBe(200);
    expect(first.body.files.length + second.body.files.length).toBe(3);
  });
});

describe('operation names inherited from Object.prototype', () => {
  test.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'])(
    'POST /v1/callouts/echo/%s -> 404 OPERATION_NOT_FOUND',
    async (operation) => {
      expectError(
        await call('POST', `/v1/callouts/echo/${operation}`, { body: '{"payload":{}}' }),
        404,
        'OPERATION_NOT_FOUND',
      );
    },
  );
});

describe('query parameters and headers named like Object.prototype members', () => {
  test('are own keys of the request: refused by the strict query schema, never a 500', async () => {
    expectError(
      await call('GET', '/v1/files', { query: { recordId: 'r1', constructor: 'x' } }),
      400,
      'INVALID_REQUEST',
    );
    expectError(
      await call('GET', '/v1/files', { query: { recordId: 'r1', ['__proto__']: 'x' } }),
      400,
      'INVALID_REQUEST',
    );
    const res = await call('POST', '/v1/callouts/echo/echo', {
      body: '{"payload":{}}',
      headers: { constructor: 'x', ['__proto__']: 'y', toString: 'z' },
    });
    expect(res.status).toBe(202);
  });
});
