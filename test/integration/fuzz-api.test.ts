import type { APIGatewayProxyEvent } from 'aws-lambda';
import { startApiHandler, type ApiUnderTest } from '../support/api-handler';
import { apiEvent } from '../support/events';

/**
 * A bounded, seeded fuzz of the v1 API: thousands of requests with hostile
 * paths, methods, headers, query strings and bodies against the real controller
 * Lambda on dynalite and fauxqs. Whatever comes in, the answer is never a 5xx,
 * and every error carries the envelope {"error":{"code","message"}} with a stable code.
 *
 * Same seed, same requests: FUZZ_SEED=<n> reproduces a run, FUZZ_REQUESTS=<n> changes its size.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 3000);

/** mulberry32: a tiny seeded PRNG, enough to pick cases reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
const chance = (p: number) => random() < p;

const HOSTILE_SEGMENTS = [
  '%ZZ',
  '%',
  '%E0%A4%A',
  '%C0%AF',
  '%00',
  '%2e%2e',
  '..',
  '.',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '%F0%9F%98%80',
  'caf%C3%A9',
  '%ED%A0%80',
  'a'.repeat(300),
  '1e308',
  '-1',
  '0',
  'null',
  'undefined',
  '%20',
  '%2F',
  '*',
  '$',
  '{jobId}',
];
const GOOD_SEGMENTS = ['echo', 'getThing', 'job-1', 'f-1', 'missing'];
const segment = () => (chance(0.6) ? pick(HOSTILE_SEGMENTS) : pick(GOOD_SEGMENTS));

const ROUTES = [
  '/v1/health',
  '/v1/callouts/{c}/{o}',
  '/v1/jobs',
  '/v1/jobs/{id}',
  '/v1/jobs/{id}/retry',
  '/v1/files',
  '/v1/files/{id}',
  '/v1/files/{id}/complete',
  '/v1/files/{id}/parts',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'get', 'FOO'];

function path(): string {
  let p = pick(ROUTES).replace(/\{\w+\}/g, () =>
    chance(0.3) && pick(ROUTES).includes('callouts') ? 'echo' : segment(),
  );
  if (chance(0.1)) p += '/';
  if (chance(0.05)) p = p.replace('/v1/', '/v1//');
  if (chance(0.05)) p += `/${segment()}`;
  if (chance(0.03)) p = `/${segment()}`;
  return p;
}

/** Scalars a hostile client sends. */
function leaf(): unknown {
  switch (int(16)) {
    case 0:
      return pick([1e308, -1e308, 1e200, 1e126, -1e126, 1e-200, 5e-324, 1e-131]);
    case 1:
      return pick([0, -0, 1, -1, 1e-130, 9.99999999999999e125, Number.MAX_SAFE_INTEGER, 0.1]);
    case 2:
      return 'x'.repeat(pick([0, 1, 1000, 50_000]));
    case 3:
      return pick([
        '__proto__',
        'constructor',
        '%ZZ',
        '..',
        '../../etc/passwd',
        '<script>',
        "'; DROP TABLE",
        '${jndi:x}',
      ]);
    case 4:
      return pick(['ü', '日本語', '😀', '\u0000', '\u202e', '\ufeff', '\ud800', '\udc00x', 'a\ud83d']);
    case 5:
      return pick([true, false, null]);
    case 6:
      return [];
    case 7:
      return {};
    default:
      return pick(['hello', 'a', '42', '', ' ']);
  }
}

const KEYS = [
  'a',
  'payload',
  'recordId',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '',
  ' ',
  'ü',
  '\ud800',
  '$',
  'a.b',
  'k'.repeat(70_000),
];

/** JSON text of a chain `levels` deep (written as text: JSON.stringify recurses). */
function chain(levels: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < levels; i += 1) {
    if (chance(0.5)) {
      open += '[';
      close = `]${close}`;
    } else {
      open += `{"${pick(['a', 'b', '__proto__'])}":`;
      close = `}${close}`;
    }
  }
  return open + text(leaf()) + close;
}

/** JSON text of a random value: a tree of hostile leaves, or a deep chain. */
function value(): string {
  if (chance(0.1)) return chain(pick([31, 32, 33, 100, 5000]));
  const root: Record<string, unknown> = {};
  let nodes: Array<Record<string, unknown> | unknown[]> = [root];
  const size = int(12);
  for (let i = 0; i < size; i += 1) {
    const parent = pick(nodes);
    const child: unknown = chance(0.3) ? (chance(0.5) ? {} : []) : leaf();
    if (Array.isArray(parent)) parent.push(child);
    // defineProperty: an own `__proto__` key, as JSON.parse makes it.
    else
      Object.defineProperty(parent, pick(KEYS), { value: child, enumerable: true, configurable: true, writable: true });
    if (child !== null && typeof child === 'object') nodes = [...nodes, child as Record<string, unknown>];
  }
  return text(chance(0.2) ? leaf() : root);
}

/** JSON text; own `__proto__` keys survive (JSON.stringify writes own enumerable keys). */
const text = (v: unknown) => JSON.stringify(v) ?? 'null';

function body(): { body: string | null; isBase64Encoded?: boolean } {
  switch (int(12)) {
    case 0:
      return { body: null };
    case 1:
      return {
        body: pick([
          '',
          '{',
          '[',
          'null',
          '1',
          '"x"',
          'true',
          '{"payload":}',
          '{"payload":1,}',
          '\u0000',
          'NaN',
          '{"payload":1e999}',
        ]),
      };
    case 2:
      return {
        body: Buffer.from(Array.from({ length: int(64) }, () => int(256))).toString('base64'),
        isBase64Encoded: true,
      };
    case 3:
      return { body: `{"payload":${value()},"__proto__":{"recordId":"x"}}` };
    case 4: {
      const deep = pick([32, 33, 5000, 20_000]);
      return { body: `{"payload":${'['.repeat(deep)}${']'.repeat(deep)}}` };
    }
    case 5:
      return {
        body: text({
          fileName: pick(['a.pdf', '../x', '', 'ü.txt', 'a\u0000b']),
          contentType: pick(['application/pdf', 'x', '']),
          size: leaf(),
          ...(chance(0.5) && { recordId: leaf() }),
          ...(chance(0.3) && { link: { connectorId: segment() } }),
        }),
      };
    case 6:
      return { body: text({ parts: chance(0.5) ? [{ partNumber: leaf(), etag: leaf() }] : leaf() }) };
    case 7:
      return { body: text({ partNumbers: [leaf(), 1, 2] }) };
    case 8:
      return { body: value() };
    default:
      return { body: `{"payload":${value()}${chance(0.3) ? `,"recordId":${text(leaf())}` : ''}}` };
  }
}

function headers(): Record<string, string> {
  const h: Record<string, string> = {};
  const set = (k: string, v: string) =>
    Object.defineProperty(h, k, { value: v, enumerable: true, configurable: true, writable: true });
  if (chance(0.5))
    set('content-type', pick(['application/json', 'text/plain', '', 'application/json; charset=utf-16']));
  if (chance(0.4))
    set(
      pick(['Idempotency-Key', 'idempotency-key', 'IDEMPOTENCY-KEY']),
      pick(['k-1', `k-${int(50)}`, '', ' ', 'x'.repeat(300), 'ü', '\u0007', '__proto__']),
    );
  if (chance(0.3)) set('X-Correlation-Id', pick(['c-1', '', 'x'.repeat(300), '😀']));
  if (chance(0.3))
    set(pick(['__proto__', 'constructor', 'toString', 'prototype', 'hasOwnProperty']), pick(['x', '{}', '']));
  return h;
}

function query(): Record<string, string> | undefined {
  if (chance(0.4)) return undefined;
  const q: Record<string, string> = {};
  const token = () =>
    pick([
      Buffer.from(value()).toString('base64url'),
      Buffer.from(text({ recordId: 'r1', fileId: leaf(), createdAt: leaf() })).toString('base64url'),
      Buffer.from(text({ pk: `JOB#${String(leaf())}`, connectorId: 'echo', jobCreatedAt: leaf() })).toString(
        'base64url',
      ),
      '%%%',
      '',
      'x'.repeat(3000),
    ]);
  const values: Record<string, () => string> = {
    recordId: () => pick(['r1', '', 'x'.repeat(300), '__proto__', '%ZZ']),
    connectorId: () => pick(['echo', '', 'x'.repeat(300), '__proto__', '%ZZ', 'a b']),
    status: () => pick(['FAILED', 'QUEUED', 'failed', '', 'DONE']),
    limit: () => pick(['1', '0', '-1', '101', '1e308', 'abc', '', '2.5', 'NaN', 'Infinity']),
    nextToken: token,
  };
  for (const key of ['recordId', 'connectorId', 'status', 'limit', 'nextToken', '__proto__', 'constructor', 'x']) {
    if (chance(0.5))
      Object.defineProperty(q, key, {
        value: Object.hasOwn(values, key) ? values[key]!() : pick(['1', '', '%ZZ']),
        enumerable: true,
        configurable: true,
        writable: true,
      });
  }
  return q;
}

function request(): APIGatewayProxyEvent {
  // A third are aimed at the routes that do work (a callout, its job, a file), so hostile
  // values also reach the services, the stores and the queue, not only the router.
  switch (chance(0.35) ? int(4) : -1) {
    case 0:
      return apiEvent({
        method: 'POST',
        path: `/v1/callouts/echo/${pick(['echo', 'echo', 'getThing', segment()])}`,
        headers: headers(),
        body: `{"payload":${value()}}`,
      });
    case 1:
      return apiEvent({
        method: 'GET',
        path: `/v1/jobs/${pick([...accepted.slice(-5), segment()])}`,
        headers: headers(),
      });
    case 2:
      return apiEvent({ method: 'POST', path: '/v1/files', headers: headers(), ...body() });
    case 3:
      return apiEvent({ method: 'GET', path: '/v1/files', headers: headers(), query: { recordId: 'r1', ...query() } });
    default:
      return apiEvent({ method: pick(METHODS), path: path(), headers: headers(), query: query(), ...body() });
  }
}

/** Job ids the run was given, read back by later requests. */
const accepted: string[] = [];

let api: ApiUnderTest;

beforeAll(async () => {
  api = await startApiHandler();
});

afterAll(async () => {
  await api?.stop();
});

test(`${REQUESTS} hostile requests (seed ${SEED}): no 5xx, the error envelope on every error`, async () => {
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  for (let i = 0; i < REQUESTS; i += 1) {
    const event = request();
    const res = await api.handler(event);
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    if (res.statusCode === 202) accepted.push(JSON.parse(res.body).jobId);
    const problem = check(res.statusCode, res.body);
    if (problem)
      failures.push(
        `#${i} ${event.httpMethod} ${event.path} query=${JSON.stringify(event.queryStringParameters)} body=${String(event.body).slice(0, 200)}: ${problem}`,
      );
  }
  expect(failures.slice(0, 10)).toEqual([]);
  if (process.env.FUZZ_VERBOSE) console.log(Object.fromEntries([...statuses].sort()));
  // The run reached past validation too: accepted callouts, found routes, refused methods.
  expect(statuses.get(202) ?? 0).toBeGreaterThan(0);
  expect(statuses.get(400) ?? 0).toBeGreaterThan(REQUESTS / 10);
  expect(statuses.get(404) ?? 0).toBeGreaterThan(0);
  expect(statuses.get(405) ?? 0).toBeGreaterThan(0);
}, 120_000);

function check(status: number, raw: string): string | undefined {
  if (status >= 500) return `answered ${status}: ${raw.slice(0, 300)}`;
  if (status < 400) return undefined;
  let parsed: any;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return `error body is not JSON: ${raw.slice(0, 200)}`;
  }
  const e = parsed?.error;
  if (!e || typeof e.message !== 'string' || typeof e.code !== 'string' || !/^[A-Z][A-Z_]+$/.test(e.code))
    return `no error envelope: ${raw.slice(0, 200)}`;
  return undefined;
}
