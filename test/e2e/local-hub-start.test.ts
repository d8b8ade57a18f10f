import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startCommandArgs, startHubProcess, type RunningHub } from '../../local/hub-process';

/** `npm start` as a user meets it: busy ports, a second hub, a rotated secret. */
let hub: RunningHub;
let upstream: Server;
let upstreamUrl: string;
const authorizations: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'crm-bridge-start-'));

beforeAll(async () => {
  upstream = createServer((req, res) => {
    authorizations.push(String(req.headers.authorization));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  hub = await startHubProcess();
}, 60_000);
afterAll(async () => {
  await hub?.stop();
  await new Promise<void>((r) => upstream.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `npm start`'s entry point until it exits (or kills it after timeoutMs). */
function start(env: Record<string, string>, timeoutMs = 20_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, startCommandArgs(), {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', ECHO_PORT: '0', CRM_BRIDGE_LOCAL_STATE: join(dir, 'own-state.json'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    p.stdout.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => p.kill('SIGTERM'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function busyPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as AddressInfo).port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

test('a second hub on the same state file refuses, names the running one, and leaves its state file alone', async () => {
  const r = await start({ CRM_BRIDGE_LOCAL_STATE: hub.statePath });
  expect(r.code).toBe(2);
  expect(r.output).toContain(
    `another crm-bridge local hub is already running at ${hub.state.baseUrl} (pid ${hub.state.pid}, state file ${hub.statePath})`,
  );
  expect(r.output).toContain('CRM_BRIDGE_LOCAL_STATE=');
  expect(r.output).not.toMatch(/\n\s+at /); // no stack trace
  expect(JSON.parse(readFileSync(hub.statePath, 'utf8')).pid).toBe(hub.state.pid);
  expect((await hub.cli(['connectors', 'list', '--local'])).code).toBe(0);
}, 30_000);

test.each(['PORT', 'ECHO_PORT'])(
  'a busy %s gives a clear message naming the setting, no stack trace',
  async (variable) => {
    const busy = await busyPort();
    try {
      const r = await start({ [variable]: String(busy.port) });
      expect(r.code).toBe(2);
      expect(r.output).toContain(
        `port ${busy.port} (${variable}) on 127.0.0.1 is already in use by another program (no running crm-bridge hub is recorded in`,
      );
      expect(r.output).toContain(`${variable}=${busy.port + 1} npm start`);
      expect(r.output).not.toMatch(/\n\s+at /);
    } finally {
      await busy.close();
    }
  },
  30_000,
);

test('a busy PORT held by a hub with another state file is named as such', async () => {
  const port = Number(new URL(hub.state.baseUrl).port);
  const r = await start({ PORT: String(port) });
  expect(r.code).toBe(2);
  expect(r.output).toContain(
    `port ${port} (PORT) on 127.0.0.1 is already in use by a crm-bridge hub with another state file`,
  );
  expect(r.output).toContain(`PORT=${port + 1} npm start`);
}, 30_000);

test('a rotated secret takes effect within about a second locally, and secrets put says so', async () => {
  await hub.putConnector({
    connectorId: 'rotating',
    type: 'rest',
    baseUrl: upstreamUrl,
    auth: { type: 'bearer', secret: 'token' },
    retry: { maxAttempts: 1 },
    operations: { get: { method: 'GET', path: '/x' } },
  });
  const call = async () => {
    const submitted = await hub.api('POST', '/v1/callouts/rotating/get', { payload: {} });
    expect(submitted.status).toBe(202);
    expect(await hub.waitForJob(submitted.body.jobId)).toMatchObject({ status: 'SUCCEEDED' });
    return authorizations[authorizations.length - 1];
  };
  const put1 = await hub.cli(['secrets', 'put', 'rotating', 'token', '--local'], 'v1');
  expect(put1.code).toBe(0);
  expect(put1.stderr).toMatch(/jobs use it within 1 s \(the local hub at .*'s SECRETS_CACHE_TTL_SECONDS\)/);
  expect(await call()).toBe('Bearer v1');
  expect((await hub.cli(['secrets', 'put', 'rotating', 'token', '--local'], 'v2')).code).toBe(0);
  await new Promise((r) => setTimeout(r, 1500));
  expect(await call()).toBe('Bearer v2');
}, 60_000);
