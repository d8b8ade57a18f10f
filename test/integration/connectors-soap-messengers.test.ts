import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream';
import { startHubProcess, type RunningHub } from '../support/hub-process';
import { startSoapCalculator, type SoapCalculator } from '../support/soap-calculator';

/** SOAP, Slack and Viber connectors, registered with the CLI and run end to end through the local hub. */
let hub: RunningHub;
let calc: SoapCalculator;
let slack: FakeUpstream;
let viber: FakeUpstream;
const dir = mkdtempSync(join(tmpdir(), 'crm-bridge-conn-'));

async function register(row: Record<string, unknown>, secrets: Record<string, string> = {}) {
  const file = join(dir, `${String(row.connectorId)}.json`);
  writeFileSync(file, JSON.stringify(row));
  const put = await hub.cli(['connectors', 'put', file, '--local']);
  if (put.code !== 0) throw new Error(put.stderr);
  for (const [name, value] of Object.entries(secrets)) {
    const s = await hub.cli(['secrets', 'put', String(row.connectorId), name, '--local'], value);
    if (s.code !== 0) throw new Error(s.stderr);
  }
}

async function run(connectorId: string, operation: string, payload: unknown) {
  const res = await hub.api('POST', `/v1/callouts/${connectorId}/${operation}`, { payload });
  expect(res.status).toBe(202);
  return hub.waitForJob(res.body.jobId);
}

function neverLeaked(job: unknown, ...secrets: string[]) {
  for (const s of secrets) {
    expect(JSON.stringify(job)).not.toContain(s);
    expect(hub.output()).not.toContain(s);
  }
}

beforeAll(async () => {
  [calc, slack, viber, hub] = await Promise.all([startSoapCalculator(), startFakeUpstream(), startFakeUpstream(), startHubProcess()]);
});
afterAll(async () => {
  await hub?.stop();
  await Promise.all([calc?.close(), slack?.close(), viber?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const soapRow = (id: string, extra: Record<string, unknown> = {}) => ({
  connectorId: id,
  type: 'soap',
  wsdlUrl: calc.wsdlUrl,
  endpoint: calc.endpoint,
  retry: { maxAttempts: 2, baseDelayMs: 10 },
  operations: { add: { operation: 'Add' }, divide: { operation: 'Divide' }, multiply: { operation: 'Multiply' } },
  ...extra,
});

describe('soap', () => {
  test('SOAP 1.1 from the WSDL, endpoint overridden, with WS-Security UsernameToken from secrets', async () => {
    await register(soapRow('calc', { auth: { type: 'wsSecurity', username: 'crm', password: { secret: 'password' } } }), { password: 'ws-pass-4711' });
    const job = await run('calc', 'add', { intA: 2, intB: 40 });
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { statusCode: 200, data: { AddResult: 42 } } });
    expect(calc.contentTypes.at(-1)).toMatch(/^text\/xml/);
    expect(calc.usernameTokens.at(-1)).toMatchObject({ username: 'crm' });
    expect(JSON.stringify(calc.usernameTokens.at(-1)!.password)).toContain('ws-pass-4711');
    neverLeaked(job, 'ws-pass-4711');
  });

  test('SOAP 1.2 binding with basic auth', async () => {
    await register(
      soapRow('calc12', {
        soapVersion: '1.2',
        endpoint: calc.endpoint12,
        auth: { type: 'basic', username: 'crm12', password: { secret: 'pw' } },
        operations: { sub: { operation: 'Subtract', service: 'Calculator', port: 'CalculatorSoap12' } },
      }),
      { pw: 'basic-pass-99' },
    );
    const job = await run('calc12', 'sub', { intA: 10, intB: 3 });
    expect(job).toMatchObject({ status: 'SUCCEEDED', result: { data: { SubtractResult: 7 } } });
    expect(calc.contentTypes.at(-1)).toMatch(/^application\/soap\+xml/);
    expect(calc.basicAuth.at(-1)).toBe(`Basic ${Buffer.from('crm12:basic-pass-99').toString('base64')}`);
    neverLeaked(job, 'basic-pass-99');
  });

  test('a client SOAP Fault fails at once with the fault code and string', async () => {
    await register(soapRow('calc-fault'));
    const job = await run('calc-fault', 'divide', { intA: 1, intB: 0 });
    expect(job).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'UPSTREAM_SOAP_FAULT', retryable: false } });
    expect(job.error.message).toContain('soap:Client');
    expect(job.error.message).toContain('Attempted to divide by zero.');
  });

  test('a server SOAP Fault is retried, then fails as retryable', async () => {
    const job = await run('calc-fault', 'multiply', { intA: 999, intB: 2 });
    expect(job).toMatchObject({ status: 'FAILED', attempts: 2, error: { code: 'UPSTREAM_SOAP_FAULT', retryable: true } });
    expect(job.error.message).toContain('soap:Server');
  });

  test('SOAP 1.2 faults: Sender is not retried, Receiver is', async () => {
    await register(
      soapRow('calc12-fault', {
        soapVersion: '1.2',
        endpoint: calc.endpoint12,
        operations: { divide: { operation: 'Divide', service: 'Calculator', port: 'CalculatorSoap12' }, multiply: { operation: 'Multiply', service: 'Calculator', port: 'CalculatorSoap12' } },
      }),
    );
    const [sender, receiver] = await Promise.all([run('calc12-fault', 'divide', { intA: 1, intB: 0 }), run('calc12-fault', 'multiply', { intA: 999, intB: 2 })]);
    expect(sender).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'UPSTREAM_SOAP_FAULT', retryable: false } });
    expect(sender.error.message).toBe('SOAP Fault soap:Sender: Attempted to divide by zero.');
    expect(receiver).toMatchObject({ status: 'FAILED', attempts: 2, error: { code: 'UPSTREAM_SOAP_FAULT', retryable: true } });
    expect(receiver.error.message).toBe('SOAP Fault soap:Receiver: Calculator backend unavailable');
  });

  test('the WSDL is fetched once per URL and SOAP version, and 1.1 and 1.2 clients of one WSDL stay apart', async () => {
    const wsdlUrl = `${calc.wsdlUrl}&test=once`; // a URL no other test used, so this worker has not fetched it yet
    await register(soapRow('once-a', { wsdlUrl }));
    await register(soapRow('once-b', { wsdlUrl }));
    await register(soapRow('once-12', { wsdlUrl, soapVersion: '1.2', endpoint: calc.endpoint12 }));
    const before = calc.wsdlFetches;
    for (const [id, intA, contentType] of [['once-a', 1, /^text\/xml/], ['once-12', 2, /^application\/soap\+xml/], ['once-b', 3, /^text\/xml/], ['once-12', 4, /^application\/soap\+xml/], ['once-a', 5, /^text\/xml/]] as const) {
      expect(await run(id, 'add', { intA, intB: 1 })).toMatchObject({ result: { data: { AddResult: intA + 1 } } });
      expect(calc.contentTypes.at(-1)).toMatch(contentType);
    }
    expect(calc.wsdlFetches - before).toBe(2);
  });

  test('an operation missing from the WSDL fails without a call', async () => {
    await register(soapRow('calc-bad', { operations: { pow: { operation: 'Power' } } }));
    const job = await run('calc-bad', 'pow', { intA: 1, intB: 2 });
    expect(job).toMatchObject({ status: 'FAILED', attempts: 0, error: { code: 'OPERATION_NOT_FOUND' } });
  });
});

describe('slack', () => {
  beforeAll(async () => {
    await register(
      {
        connectorId: 'slack',
        type: 'slack',
        baseUrl: `${slack.url}/api`,
        botToken: { secret: 'bot' },
        webhookUrl: { secret: 'hook' },
        retry: { maxAttempts: 3, baseDelayMs: 10 },
        operations: { notify: { action: 'postMessage', channel: 'C123' }, hook: { action: 'webhook' } },
      },
      { bot: 'xoxb-test-token-1', hook: `${slack.url}/services/T000/B000/secretpath` },
    );
  });

  test('chat.postMessage with the bot token; the documented success body is the result', async () => {
    slack.route('POST /api/chat.postMessage', (call) => ({
      json: { ok: true, channel: (call.json as any).channel, ts: '1503435956.000247', message: { text: (call.json as any).text, type: 'message', subtype: 'bot_message' } },
    }));
    const job = await run('slack', 'notify', { text: 'Opportunity won' });
    expect(job).toMatchObject({ status: 'SUCCEEDED', result: { statusCode: 200, data: { ok: true, channel: 'C123', ts: '1503435956.000247' } } });
    const call = slack.calls('POST /api/chat.postMessage').at(-1)!;
    expect(call.headers.authorization).toBe('Bearer xoxb-test-token-1');
    expect(call.json).toEqual({ channel: 'C123', text: 'Opportunity won' });
    neverLeaked(job, 'xoxb-test-token-1');
  });

  test('"ok": false is an error carrying Slack\'s error string', async () => {
    slack.route('POST /api/chat.postMessage', { json: { ok: false, error: 'channel_not_found' } });
    const job = await run('slack', 'notify', { text: 'x', channel: 'nope' });
    expect(job).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'UPSTREAM_SLACK_ERROR', retryable: false, statusCode: 200 } });
    expect(job.error.message).toContain('channel_not_found');
  });

  test('429 honours Retry-After', async () => {
    slack.route('POST /api/chat.postMessage', (_c, nth) => (nth === 1 ? { status: 429, headers: { 'retry-after': '1' }, json: { ok: false, error: 'ratelimited' } } : { json: { ok: true, ts: '1' } }));
    slack.reset();
    const job = await run('slack', 'notify', { text: 'later' });
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    const [a, b] = slack.calls('POST /api/chat.postMessage');
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(950);
  });

  test('incoming webhook: "ok" text, and its error texts', async () => {
    slack.route('POST /services/T000/B000/secretpath', (call) => ((call.json as any).text ? { text: 'ok' } : { status: 400, text: 'no_text' }));
    expect(await run('slack', 'hook', { text: 'hello' })).toMatchObject({ status: 'SUCCEEDED', result: { statusCode: 200, data: 'ok' } });
    const bad = await run('slack', 'hook', { blocks: [] });
    expect(bad).toMatchObject({ status: 'FAILED', error: { code: 'UPSTREAM_HTTP_ERROR', statusCode: 400, retryable: false } });
    expect(bad.error.message).toContain('no_text');
    neverLeaked(bad, 'secretpath');
  });
});

describe('viber', () => {
  beforeAll(async () => {
    await register(
      { connectorId: 'viber', type: 'viber', baseUrl: `${viber.url}/pa`, authToken: { secret: 'token' }, sender: { name: 'CRM Bot' }, operations: { send: { action: 'sendMessage' } } },
      { token: '445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9' },
    );
  });

  test('send_message with X-Viber-Auth-Token; the documented success body is the result', async () => {
    viber.route('POST /pa/send_message', { json: { status: 0, status_message: 'ok', message_token: 5098034272017990000, chat_hostname: 'SN-CHAT-05_' } });
    const job = await run('viber', 'send', { receiver: '01234567890A=', text: 'Your order shipped' });
    expect(job).toMatchObject({ status: 'SUCCEEDED', result: { data: { status: 0, status_message: 'ok' } } });
    const call = viber.calls('POST /pa/send_message').at(-1)!;
    expect(call.headers['x-viber-auth-token']).toBe('445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9');
    expect(call.json).toEqual({ type: 'text', sender: { name: 'CRM Bot' }, receiver: '01234567890A=', text: 'Your order shipped' });
    neverLeaked(job, '445da6az1s345z78');
  });

  test('a non-zero status is an error with Viber\'s status_message', async () => {
    viber.route('POST /pa/send_message', { json: { status: 6, status_message: 'notSubscribed' } });
    const job = await run('viber', 'send', { receiver: 'x', text: 'hi' });
    expect(job).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'UPSTREAM_VIBER_ERROR', retryable: false } });
    expect(job.error.message).toContain('notSubscribed');
  });

  test('a payload without receiver fails without a call', async () => {
    const before = viber.calls().length;
    const job = await run('viber', 'send', { text: 'hi' });
    expect(job).toMatchObject({ status: 'FAILED', attempts: 0, error: { code: 'INVALID_PAYLOAD' } });
    expect(viber.calls().length).toBe(before);
  });
});
