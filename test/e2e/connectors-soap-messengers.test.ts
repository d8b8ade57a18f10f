import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiError, rateLimited, startFakeSlack, type FakeSlack } from '../support/fake-slack';
import { startFakeViber, VIBER_FIRST_TOKEN, type FakeViber } from '../support/fake-viber';
import { startHubProcess, type RunningHub } from '../../local/hub-process';
import { ASMX_APPLICATION_EXCEPTION, startSoapCalculator, type SoapCalculator } from '../support/soap-calculator';

/** SOAP, Slack and Viber connectors, registered with the CLI and run end to end through the local hub. */
let hub: RunningHub;
let calc: SoapCalculator;
let slack: FakeSlack;
let viber: FakeViber;
const SLACK_TOKEN = 'xoxb-test-token-1';
const VIBER_TOKEN = '445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9';
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
  [calc, slack, viber, hub] = await Promise.all([
    startSoapCalculator(),
    startFakeSlack({
      botToken: SLACK_TOKEN,
      channels: { general: 'C0123GENERAL', sales: 'C0456SALES' },
      archived: ['C0456SALES'],
    }),
    startFakeViber({ authToken: VIBER_TOKEN, subscribers: ['01234567890A=', 'x'] }),
    startHubProcess(),
  ]);
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

/** The Slack row (bot token and webhook URL from secrets) and the Viber row the tests below register under several ids. */
const registerSlack = (id: string, extra: Record<string, unknown> = {}) =>
  register(
    {
      connectorId: id,
      type: 'slack',
      baseUrl: slack.apiUrl,
      botToken: { secret: 'bot' },
      webhookUrl: { secret: 'hook' },
      operations: { notify: { action: 'postMessage', channel: '#general' }, hook: { action: 'webhook' } },
      ...extra,
    },
    { bot: SLACK_TOKEN, hook: slack.webhookUrl },
  );
const registerViber = (id: string) =>
  register(
    {
      connectorId: id,
      type: 'viber',
      baseUrl: viber.apiUrl,
      authToken: { secret: 'token' },
      sender: { name: 'CRM Bot' },
      operations: { send: { action: 'sendMessage' } },
    },
    { token: VIBER_TOKEN },
  );

describe('soap', () => {
  test('SOAP 1.1 from the WSDL, endpoint overridden, with WS-Security UsernameToken from secrets', async () => {
    await register(
      soapRow('calc', { auth: { type: 'wsSecurity', username: 'crm', password: { secret: 'password' } } }),
      { password: 'ws-pass-4711' },
    );
    const job = await run('calc', 'add', { intA: 2, intB: 40 });
    expect(job).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 1,
      result: { statusCode: 200, data: { AddResult: 42 } },
    });
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

  test('a client SOAP Fault (a request ASMX cannot read) fails at once with the fault code and string', async () => {
    await register(soapRow('calc-fault'));
    const job = await run('calc-fault', 'add', { intA: 'one', intB: 2 });
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'UPSTREAM_SOAP_FAULT', retryable: false },
    });
    expect(job.error.message).toContain('soap:Client');
    expect(job.error.message).toContain('Server was unable to read request.');
  });

  test('an ASMX application exception (soap:Server "Server was unable to process request. --->") fails at once', async () => {
    const before = calc.requests;
    const job = await run('calc-fault', 'divide', { intA: 1, intB: 0 });
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'UPSTREAM_SOAP_FAULT', retryable: false },
    });
    expect(job.error.message).toBe(
      `SOAP Fault soap:Server: ${ASMX_APPLICATION_EXCEPTION} Attempted to divide by zero.`,
    );
    expect(calc.requests - before).toBe(1);
  });

  test('retryOnServerFault: true retries even an application exception', async () => {
    await register(
      soapRow('calc-retry-all', { operations: { divide: { operation: 'Divide', retryOnServerFault: true } } }),
    );
    const job = await run('calc-retry-all', 'divide', { intA: 1, intB: 0 });
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      error: { code: 'UPSTREAM_SOAP_FAULT', retryable: true },
    });
  });

  test('a server SOAP Fault that reports no application exception is retried, then fails as retryable', async () => {
    const job = await run('calc-fault', 'multiply', { intA: 999, intB: 2 });
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      error: { code: 'UPSTREAM_SOAP_FAULT', retryable: true },
    });
    expect(job.error.message).toContain('soap:Server');
  });

  test('SOAP 1.2 faults (Reason/Text with xml:lang): Sender and an ASMX Receiver exception are not retried, another Receiver fault is', async () => {
    await register(
      soapRow('calc12-fault', {
        soapVersion: '1.2',
        endpoint: calc.endpoint12,
        operations: {
          add: { operation: 'Add', service: 'Calculator', port: 'CalculatorSoap12' },
          divide: { operation: 'Divide', service: 'Calculator', port: 'CalculatorSoap12' },
          multiply: { operation: 'Multiply', service: 'Calculator', port: 'CalculatorSoap12' },
        },
      }),
    );
    const [sender, exception, receiver] = await Promise.all([
      run('calc12-fault', 'add', { intA: 'one', intB: 2 }),
      run('calc12-fault', 'divide', { intA: 1, intB: 0 }),
      run('calc12-fault', 'multiply', { intA: 999, intB: 2 }),
    ]);
    expect(sender).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'UPSTREAM_SOAP_FAULT', retryable: false },
    });
    expect(sender.error.message).toMatch(/^SOAP Fault soap:Sender: Server was unable to read request\./);
    expect(exception).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'UPSTREAM_SOAP_FAULT', retryable: false },
    });
    expect(exception.error.message).toBe(
      `SOAP Fault soap:Receiver: ${ASMX_APPLICATION_EXCEPTION} Attempted to divide by zero.`,
    );
    expect(receiver).toMatchObject({
      status: 'FAILED',
      attempts: 2,
      error: { code: 'UPSTREAM_SOAP_FAULT', retryable: true },
    });
    expect(receiver.error.message).toBe('SOAP Fault soap:Receiver: Calculator backend unavailable');
  });

  test('the WSDL is fetched once per URL and SOAP version, and 1.1 and 1.2 clients of one WSDL stay apart', async () => {
    const wsdlUrl = `${calc.wsdlUrl}&test=once`; // a URL no other test used, so this worker has not fetched it yet
    await register(soapRow('once-a', { wsdlUrl }));
    await register(soapRow('once-b', { wsdlUrl }));
    await register(soapRow('once-12', { wsdlUrl, soapVersion: '1.2', endpoint: calc.endpoint12 }));
    const before = calc.wsdlFetches;
    for (const [id, intA, contentType] of [
      ['once-a', 1, /^text\/xml/],
      ['once-12', 2, /^application\/soap\+xml/],
      ['once-b', 3, /^text\/xml/],
      ['once-12', 4, /^application\/soap\+xml/],
      ['once-a', 5, /^text\/xml/],
    ] as const) {
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
    await registerSlack('slack', { retry: { maxAttempts: 3, baseDelayMs: 10 } });
  });

  test('chat.postMessage with the bot token: the result carries the channel ID, ts and message', async () => {
    const job = await run('slack', 'notify', { text: 'Opportunity won' });
    expect(job).toMatchObject({
      status: 'SUCCEEDED',
      result: {
        statusCode: 200,
        data: {
          ok: true,
          channel: 'C0123GENERAL',
          ts: expect.stringMatching(/^\d+\.\d{6}$/),
          message: { type: 'message', text: 'Opportunity won' },
        },
      },
    });
    expect(job.result.data.message.ts).toBe(job.result.data.ts);
    const call = slack.postMessageCalls().at(-1)!;
    expect(call.headers.authorization).toBe(`Bearer ${SLACK_TOKEN}`);
    expect(call.json).toEqual({ channel: '#general', text: 'Opportunity won' });
    neverLeaked(job, SLACK_TOKEN);
  });

  test('"ok": false is an error carrying Slack\'s error string', async () => {
    const [missing, archived] = await Promise.all([
      run('slack', 'notify', { text: 'x', channel: 'nope' }),
      run('slack', 'notify', { text: 'x', channel: '#sales' }),
    ]);
    expect(missing).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'UPSTREAM_SLACK_ERROR', retryable: false, statusCode: 200 },
    });
    expect(missing.error.message).toContain('channel_not_found');
    expect(archived).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'UPSTREAM_SLACK_ERROR', retryable: false },
    });
    expect(archived.error.message).toContain('is_archived');
  });

  test('429 ratelimited honours Retry-After', async () => {
    slack.reset();
    slack.failNext(rateLimited(1));
    const job = await run('slack', 'notify', { text: 'later' });
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    const [a, b] = slack.postMessageCalls();
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(950);
  });

  test("chat.postMessage's own rate_limited (HTTP 200) is retried too", async () => {
    slack.failNext(apiError('rate_limited'));
    const job = await run('slack', 'notify', { text: 'too many' });
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 2, result: { data: { ok: true } } });
  });

  test('incoming webhook: "ok" text, and its documented errors with their statuses, none retried', async () => {
    expect(await run('slack', 'hook', { text: 'hello' })).toMatchObject({
      status: 'SUCCEEDED',
      result: { statusCode: 200, data: 'ok' },
    });
    const noText = await run('slack', 'hook', { blocks: [] });
    expect(noText).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'UPSTREAM_HTTP_ERROR', statusCode: 400, retryable: false },
    });
    expect(noText.error.message).toContain('no_text');
    neverLeaked(noText, slack.webhookUrl.split('/').at(-1)!);
    for (const [state, status, text] of [
      ['prohibited', 403, 'action_prohibited'],
      ['deleted', 404, 'channel_not_found'],
      ['archived', 410, 'channel_is_archived'],
    ] as const) {
      slack.webhookChannel = state;
      const job = await run('slack', 'hook', { text: 'hello' });
      expect(job).toMatchObject({
        status: 'FAILED',
        attempts: 1,
        error: { code: 'UPSTREAM_HTTP_ERROR', statusCode: status, retryable: false },
      });
      expect(job.error.message).toContain(text);
    }
    slack.webhookChannel = 'active';
  });
});

describe('viber', () => {
  beforeAll(async () => {
    await registerViber('viber');
  });

  test('send_message with X-Viber-Auth-Token; the 64-bit message_token reaches the job record digit for digit', async () => {
    const job = await run('viber', 'send', { receiver: '01234567890A=', text: 'Your order shipped' });
    expect(job).toMatchObject({ status: 'SUCCEEDED', result: { data: { status: 0, status_message: 'ok' } } });
    // The stand-in wrote this token into its body; the job record must carry exactly it.
    expect(viber.tokens).toContain(job.result.data.message_token);
    expect(BigInt(job.result.data.message_token)).toBeGreaterThanOrEqual(VIBER_FIRST_TOKEN);
    expect(job.result.data.message_token).toMatch(/^57413118035717210\d\d$/);
    const call = viber.calls().at(-1)!;
    expect(call.headers['x-viber-auth-token']).toBe(VIBER_TOKEN);
    expect(call.json).toEqual({
      type: 'text',
      sender: { name: 'CRM Bot' },
      receiver: '01234567890A=',
      text: 'Your order shipped',
    });
    neverLeaked(job, '445da6az1s345z78');
  });

  test("a non-zero status is an error with Viber's status_message; tooManyRequests (12) is retried", async () => {
    const job = await run('viber', 'send', { receiver: 'not-subscribed', text: 'hi' });
    expect(job).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { code: 'UPSTREAM_VIBER_ERROR', retryable: false },
    });
    expect(job.error.message).toContain('receiverNotSubscribed');
    viber.failNext('tooManyRequests');
    expect(await run('viber', 'send', { receiver: 'x', text: 'hi' })).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 2,
    });
  });

  test('payloads Viber would refuse fail without a call: no receiver, text over 7,000 characters, a sender name over 28', async () => {
    const before = viber.calls().length;
    const jobs = await Promise.all([
      run('viber', 'send', { text: 'hi' }),
      run('viber', 'send', { receiver: 'x', text: 'a'.repeat(7001) }),
      run('viber', 'send', { receiver: 'x', text: 'hi', sender: { name: 'A sender name of 29 letters!!' } }),
      run('viber', 'send', { receiver: 'x', text: 'hi', sender: { name: 'Ok', admin: true } }),
    ]);
    for (const job of jobs)
      expect(job).toMatchObject({ status: 'FAILED', attempts: 0, error: { code: 'INVALID_PAYLOAD' } });
    expect(jobs[1]!.error.message).toContain('7000');
    expect(jobs[2]!.error.message).toContain('28');
    expect(viber.calls().length).toBe(before);
  });

  test("a valid payload sender replaces the connector's sender fields; 7,000 characters are accepted", async () => {
    const job = await run('viber', 'send', { receiver: 'x', text: 'b'.repeat(7000), sender: { name: 'Order desk' } });
    expect(job).toMatchObject({ status: 'SUCCEEDED' });
    expect((viber.calls().at(-1)!.json as any).sender).toEqual({ name: 'Order desk' });
  });
});

/** The caller's W3C trace reaches every kind of service: same trace id and flags, a new span id per call. */
describe('traceparent', () => {
  const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const traced = async (connectorId: string, operation: string, payload: unknown) => {
    const res = await hub.api('POST', `/v1/callouts/${connectorId}/${operation}`, { payload }, { traceparent: caller });
    expect(res.status).toBe(202);
    return hub.waitForJob(res.body.jobId);
  };
  const childOfCaller = (header: unknown) => {
    expect(header).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(header).not.toBe(caller);
  };

  beforeAll(async () => {
    await registerSlack('slack-trace');
    await registerViber('viber-trace');
    slack.webhookChannel = 'active';
  });

  test('SOAP', async () => {
    await register(soapRow('calc-trace'));
    expect(await traced('calc-trace', 'add', { intA: 1, intB: 2 })).toMatchObject({ status: 'SUCCEEDED' });
    childOfCaller(calc.traceparents.at(-1));
  });

  test('Slack Web API and incoming webhook', async () => {
    expect(await traced('slack-trace', 'notify', { text: 'traced' })).toMatchObject({ status: 'SUCCEEDED' });
    childOfCaller(slack.postMessageCalls().at(-1)!.headers.traceparent);
    expect(await traced('slack-trace', 'hook', { text: 'traced' })).toMatchObject({ status: 'SUCCEEDED' });
    childOfCaller(slack.webhookCalls().at(-1)!.headers.traceparent);
  });

  test('Viber', async () => {
    expect(await traced('viber-trace', 'send', { receiver: '01234567890A=', text: 'traced' })).toMatchObject({
      status: 'SUCCEEDED',
    });
    childOfCaller(viber.calls().at(-1)!.headers.traceparent);
  });
});
