import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { regionFromApiUrl, sigV4Signer } from '../../cli/sigv4';

/**
 * The CLI's file commands against a stack deployed with apiAuth=iam (the default): requests signed with
 * SigV4 for execute-api. A local server stands in for API Gateway and checks each signature with an
 * independent implementation of the SigV4 algorithm (node:crypto only), as API Gateway does.
 */
const ROOT = join(__dirname, '..', '..');
const ACCESS_KEY = 'AKIDEXAMPLETESTKEY01';
const SECRET_KEY = 'test-secret-key-for-sigv4-verification';
const SESSION_TOKEN = 'test-session-token';

const hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
/** RFC 3986 encoding as SigV4 wants it. */
const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

interface Verdict {
  ok: boolean;
  reason?: string;
  region?: string;
  service?: string;
  token?: string;
}

/** Verifies the SigV4 Authorization header of a request, given the secret key of its access key. */
function verify(
  req: { method: string; url: string; headers: Record<string, string | string[] | undefined> },
  body: Buffer,
  secrets: Record<string, string>,
): Verdict {
  const auth = String(req.headers.authorization ?? '');
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return { ok: false, reason: `no SigV4 authorization header: ${auth}` };
  const [, keyId, date, region, service, signedHeaders, signature] = m as unknown as string[];
  const secret = secrets[keyId!];
  if (!secret) return { ok: false, reason: 'unknown access key' };
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(date!)) return { ok: false, reason: 'x-amz-date does not match the credential scope' };
  const names = signedHeaders!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date'))
    return { ok: false, reason: 'host and x-amz-date must be signed' };
  const [rawPath, rawQuery = ''] = req.url.split('?') as [string, string?];
  // Not S3: each path segment, as sent, is encoded once more.
  const canonicalPath = rawPath
    .split('/')
    .map((seg) => enc(seg))
    .join('/');
  const canonicalQuery = [...new URLSearchParams(rawQuery)]
    .map(([k, v]) => [enc(k), enc(v)])
    .sort(([a, av], [b, bv]) => (a! < b! ? -1 : a! > b! ? 1 : av! < bv! ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = names
    .map(
      (n) =>
        `${n}:${String(req.headers[n] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const canonicalRequest = [req.method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders, hex(body)].join(
    '\n',
  );
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  if (expected !== signature) return { ok: false, reason: 'signature mismatch' };
  return { ok: true, region, service, token: req.headers['x-amz-security-token'] as string | undefined };
}

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });

let server: Server;
let base: string;
let serverSecrets: Record<string, string> = { [ACCESS_KEY]: SECRET_KEY };
const seen: Array<{ method: string; url: string; verdict: Verdict; apiKey?: string }> = [];

beforeAll(async () => {
  const respond = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const verdict = verify({ method: req.method!, url: req.url!, headers: req.headers }, body, serverSecrets);
    seen.push({ method: req.method!, url: req.url!, verdict, apiKey: req.headers['x-api-key'] as string | undefined });
    res.setHeader('content-type', 'application/json');
    if (!verdict.ok) {
      res.writeHead(403).end(
        JSON.stringify({
          error: {
            code: 'FORBIDDEN',
            message: `The request signature we calculated does not match (${verdict.reason})`,
          },
        }),
      );
      return;
    }
    if (req.method === 'GET' && req.url!.startsWith('/dev/v1/files?')) {
      res.writeHead(200).end(
        JSON.stringify({
          files: [
            { fileId: 'f-1', fileName: 'a b.pdf', size: 3, status: 'AVAILABLE', createdAt: '2026-01-01T00:00:00Z' },
          ],
        }),
      );
    } else if (req.method === 'DELETE' && req.url === '/dev/v1/files/f%201') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end(JSON.stringify({ error: { code: 'ROUTE_NOT_FOUND', message: req.url } }));
    }
  };
  // A failure in this fake answers 500, which fails the test, instead of an unhandled rejection.
  server = createServer((req, res) => {
    respond(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dev`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  seen.length = 0;
  serverSecrets = { [ACCESS_KEY]: SECRET_KEY };
});

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|CRM_BRIDGE_)/.test(k)));
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'cli/crm-bridge.cjs'), ...args], {
      cwd: ROOT,
      env: {
        ...clean,
        // Only these credentials: no profile, config file or instance metadata on the way.
        AWS_ACCESS_KEY_ID: ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: SECRET_KEY,
        AWS_SESSION_TOKEN: SESSION_TOKEN,
        AWS_CONFIG_FILE: join(ROOT, 'no-such-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(ROOT, 'no-such-aws-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('files list and delete without an API key are signed with SigV4 for execute-api, with the session token', async () => {
  const listed = await cli(['files', 'list', '--record-id', 'R-1', '--api-url', `${base}/`, '--region', 'eu-west-1']);
  expect(listed.stderr).toBe('');
  expect(listed.code).toBe(0);
  expect(listed.stdout).toBe('f-1\tAVAILABLE\t3\t2026-01-01T00:00:00Z\t-\ta b.pdf\n');
  const deleted = await cli(['files', 'delete', 'f 1', '--api-url', base, '--region', 'eu-west-1']);
  expect(deleted.code).toBe(0);
  expect(seen.map((s) => [s.method, s.verdict])).toEqual([
    ['GET', { ok: true, region: 'eu-west-1', service: 'execute-api', token: SESSION_TOKEN }],
    ['DELETE', { ok: true, region: 'eu-west-1', service: 'execute-api', token: SESSION_TOKEN }],
  ]);
  expect(seen.every((s) => s.apiKey === undefined)).toBe(true);
}, 30_000);

test('a wrong signature is refused, and the CLI says so', async () => {
  serverSecrets = { [ACCESS_KEY]: 'another-secret' };
  const r = await cli(['files', 'list', '--record-id', 'R-1', '--api-url', base, '--region', 'eu-west-1']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('FORBIDDEN: The request signature we calculated does not match (signature mismatch)');
}, 30_000);

test('with an API key the CLI sends x-api-key and does not sign', async () => {
  const r = await cli(['files', 'list', '--record-id', 'R-1', '--api-url', base, '--api-key', 'k-1']);
  expect(r.code).toBe(1); // the stand-in wants a signature
  expect(seen).toHaveLength(1);
  expect(seen[0]!.apiKey).toBe('k-1');
  expect(seen[0]!.verdict.reason).toMatch(/no SigV4 authorization header/);
}, 30_000);

test('the verifier catches a tampered request (the checks above can fail)', async () => {
  const sign = sigV4Signer('eu-west-1', async () => ({ accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }));
  const url = `${base}/v1/callouts/a/b?x=1&a=2`;
  const body = '{"payload":{"n":1}}';
  const headers = await sign('POST', url, { 'content-type': 'application/json' }, body);
  const host = new URL(url).host;
  const request = (u: string) => ({ method: 'POST', url: u, headers: { ...headers, host } });
  expect(verify(request('/dev/v1/callouts/a/b?x=1&a=2'), Buffer.from(body), serverSecrets)).toMatchObject({ ok: true });
  expect(verify(request('/dev/v1/callouts/a/b?x=1&a=3'), Buffer.from(body), serverSecrets).ok).toBe(false);
  expect(verify(request('/dev/v1/callouts/a/c?x=1&a=2'), Buffer.from(body), serverSecrets).ok).toBe(false);
  expect(verify(request('/dev/v1/callouts/a/b?x=1&a=2'), Buffer.from('{"payload":{"n":2}}'), serverSecrets).ok).toBe(
    false,
  );
});

test('the region comes from an execute-api URL', () => {
  expect(regionFromApiUrl('https://abc123defg.execute-api.eu-west-1.amazonaws.com/dev')).toBe('eu-west-1');
  expect(regionFromApiUrl('http://127.0.0.1:3000')).toBeUndefined();
});
