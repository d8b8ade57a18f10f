import type { LookupAddress } from 'node:dns';
import { parseConnector } from '../../../lambdas/connectors/schema';
import {
  checkTargetUrl,
  classifyAddress,
  guardedLookup,
  rulesFor,
  targetProblem,
} from '../../../lambdas/connectors/targets';
import { TargetNotAllowedError } from '../../../lambdas/shared/errors';

/** The address classifier and the URL checks behind TARGET_NOT_ALLOWED. */
describe('classifyAddress', () => {
  test.each([
    ['169.254.169.254', 'forbidden', 'metadata'],
    ['169.254.170.2', 'forbidden', 'metadata'],
    ['169.254.1.1', 'forbidden', 'link-local'],
    ['0.0.0.0', 'forbidden', 'unspecified'],
    ['224.0.0.1', 'forbidden', 'multicast'],
    ['255.255.255.255', 'forbidden', 'broadcast'],
    ['fd00:ec2::254', 'forbidden', 'metadata'],
    ['fe80::1', 'forbidden', 'link-local'],
    ['febf::1', 'forbidden', 'link-local'],
    ['::', 'forbidden', 'unspecified'],
    ['::ffff:169.254.169.254', 'forbidden', 'metadata'],
    ['::ffff:a9fe:a9fe', 'forbidden', 'metadata'],
    ['64:ff9b::169.254.169.254', 'forbidden', 'metadata'],
    ['127.0.0.1', 'private', 'loopback'],
    ['127.255.0.9', 'private', 'loopback'],
    ['::1', 'private', 'loopback'],
    ['::ffff:127.0.0.1', 'private', 'loopback'],
    ['10.1.2.3', 'private', 'private'],
    ['172.16.0.1', 'private', 'private'],
    ['172.31.255.255', 'private', 'private'],
    ['192.168.0.10', 'private', 'private'],
    ['fc00::1', 'private', 'unique local'],
    ['fd12:3456::1', 'private', 'unique local'],
    ['172.32.0.1', 'public', 'public'],
    ['8.8.8.8', 'public', 'public'],
    ['2001:4860:4860::8888', 'public', 'public'],
    ['fec0::1', 'public', 'public'],
  ])('%s is %s (%s)', (ip, cls, what) => {
    const result = classifyAddress(ip);
    expect(result.cls).toBe(cls);
    expect(result.what).toContain(what);
  });
});

describe('targetProblem (a URL as written)', () => {
  test.each([
    ['http://2130706433/', 'non-canonical'],
    ['http://0x7f.1/', 'non-canonical'],
    ['http://127.1/', 'non-canonical'],
    ['http://0177.0.0.1/', 'non-canonical'],
    ['http://0x7f000001:8080/x', 'non-canonical'],
    ['http://169.254.169.254.:80/', 'non-canonical'],
    ['http://user:pass@api.example.com/', 'user:password'],
    ['https://token@api.example.com/', 'user:password'],
    ['http://169.254.169.254/latest/meta-data', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://0.0.0.0:8080/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['http://[::ffff:169.254.169.254]/', 'metadata'],
    ['ftp://files.example.com/', 'http(s)'],
  ])('%s is forbidden (%s)', (url, reason) => {
    expect(targetProblem(url)).toEqual({ cls: 'forbidden', reason: expect.stringContaining(reason) });
  });

  test.each([
    'http://127.0.0.1:8080/',
    'http://10.0.0.5/api',
    'http://[::1]:3000/',
    'http://localhost:3000/',
    'http://api.localhost/',
    'http://192.168.1.1/',
  ])('%s is private', (url) => {
    expect(targetProblem(url)?.cls).toBe('private');
  });

  test.each([
    'https://api.example.com/v2',
    'https://8.8.8.8/',
    'https://1.2.3.4.example.com/',
    'https://cafe.de/',
    'http://[2001:db8::1]/',
  ])('%s is fine', (url) => {
    expect(targetProblem(url)).toBeUndefined();
  });

  test('checkTargetUrl: private targets pass only when the rules allow them; forbidden ones never', () => {
    expect(() => checkTargetUrl('http://10.0.0.5/', rulesFor('refuse', true))).toThrow(TargetNotAllowedError);
    expect(() => checkTargetUrl('http://10.0.0.5/', rulesFor('opt-in', false))).toThrow(/network.*allowPrivate/);
    expect(() => checkTargetUrl('http://10.0.0.5/', rulesFor('opt-in', true))).not.toThrow();
    expect(() => checkTargetUrl('http://10.0.0.5/', rulesFor('allow', undefined))).not.toThrow();
    expect(() => checkTargetUrl('http://169.254.169.254/', rulesFor('allow', true))).toThrow(
      expect.objectContaining({ code: 'TARGET_NOT_ALLOWED' }),
    );
  });
});

describe('guardedLookup (every resolved address)', () => {
  const resolver = (answers: Record<string, LookupAddress[]>) =>
    ((host: string, _options: unknown, callback: (err: Error | null, addresses: LookupAddress[]) => void) =>
      callback(null, answers[host] ?? [])) as never;
  const lookupOf = (allowPrivate: boolean) =>
    guardedLookup(
      rulesFor(allowPrivate ? 'allow' : 'refuse', false),
      resolver({
        'rebind.test': [
          { address: '93.184.215.14', family: 4 },
          { address: '169.254.169.254', family: 4 },
        ],
        'internal.test': [{ address: '10.0.0.7', family: 4 }],
        'public.test': [
          { address: '93.184.215.14', family: 4 },
          { address: '2606:2800:21f:cb07::1', family: 6 },
        ],
      }),
    );
  const run = (lookup: ReturnType<typeof lookupOf>, host: string, all: boolean) =>
    new Promise<{ err: Error | null; address: unknown; family?: number }>((resolve) =>
      lookup(host, { all }, (err, address, family) => resolve({ err, address, family })),
    );

  test('a name with any refused address is refused, even among public ones', async () => {
    expect((await run(lookupOf(true), 'rebind.test', false)).err).toBeInstanceOf(TargetNotAllowedError);
    expect((await run(lookupOf(false), 'internal.test', true)).err?.message).toMatch(
      /internal\.test resolves to a private address \(10\.0\.0\.7\)/,
    );
  });

  test('allowed names resolve as dns.lookup does, one address or all', async () => {
    expect(await run(lookupOf(true), 'internal.test', false)).toEqual({ err: null, address: '10.0.0.7', family: 4 });
    expect((await run(lookupOf(false), 'public.test', true)).address).toHaveLength(2);
  });
});

describe('connectors validate/put', () => {
  const row = (extra: Record<string, unknown>) => ({
    connectorId: 'c',
    type: 'rest',
    operations: { op: { method: 'GET', path: '/' } },
    baseUrl: 'https://api.example.com',
    ...extra,
  });

  test('every URL field is checked, with its JSON path', () => {
    const parsed = parseConnector(
      row({
        baseUrl: 'http://169.254.169.254/latest',
        auth: {
          type: 'oauth2ClientCredentials',
          tokenUrl: 'http://127.1/token',
          clientId: 'x',
          clientSecret: { secret: 's' },
        },
      }),
    );
    expect(parsed.ok ? [] : parsed.errors).toEqual([
      expect.stringMatching(/^\$\.baseUrl: points at an instance metadata address/),
      expect.stringMatching(/^\$\.auth\.tokenUrl: writes its IPv4 host "127\.1" in a non-canonical form/),
    ]);
    const soap = parseConnector({
      connectorId: 's',
      type: 'soap',
      wsdlUrl: 'https://ws.example.com/?wsdl',
      endpoint: 'http://a:b@ws.example.com/',
      operations: { op: { operation: 'Op' } },
    });
    expect(soap.ok ? [] : soap.errors).toEqual([expect.stringMatching(/^\$\.endpoint: must not carry user:password/)]);
    const sf = parseConnector({
      connectorId: 'f',
      type: 'salesforce',
      loginUrl: 'http://[fe80::1]/',
      auth: { type: 'clientCredentials', clientId: 'x', clientSecret: { secret: 's' } },
      operations: { op: { action: 'create', sobject: 'Account' } },
    });
    expect(sf.ok ? [] : sf.errors).toEqual([expect.stringMatching(/^\$\.loginUrl: points at a link-local address/)]);
  });

  test('loopback/private targets need network.allowPrivate (or the local hub); forbidden ones are refused even then', () => {
    expect(parseConnector(row({ baseUrl: 'http://10.0.0.5/' })).ok).toBe(false);
    expect(parseConnector(row({ baseUrl: 'http://10.0.0.5/', network: { allowPrivate: true } })).ok).toBe(true);
    expect(parseConnector(row({ baseUrl: 'http://127.0.0.1:8080/' }), { allowPrivate: true }).ok).toBe(true);
    expect(
      parseConnector(row({ baseUrl: 'http://0x7f.1/', network: { allowPrivate: true } }), { allowPrivate: true }).ok,
    ).toBe(false);
  });

  test('the worker reads rows as stored: targets are refused when called', () => {
    expect(parseConnector(row({ baseUrl: 'http://169.254.169.254/' }), { targets: 'skip' }).ok).toBe(true);
  });
});
