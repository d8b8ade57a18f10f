import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startHubProcess, type RunningHub } from '../../local/hub-process';

/** docs/salesforce-connector.md "Trying it locally", followed as written: npm run fake-salesforce, its printed commands, a callout. */
let hub: RunningHub;
let fake: ChildProcess;
let output = '';
const dir = mkdtempSync(join(tmpdir(), 'crm-bridge-fake-sf-'));

beforeAll(async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [cmd, ...args] = pkg.scripts['fake-salesforce']!.split(' ');
  expect(cmd).toBe('node');
  hub = await startHubProcess();
  fake = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, FAKE_SF_CLIENT_SECRET: '', FAKE_SF_ROW_PATH: join(dir, 'sf.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  fake.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  fake.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!output.includes('Ctrl-C to stop')) {
    if (Date.now() > deadline) throw new Error(`fake Salesforce did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}, 60_000);

afterAll(async () => {
  if (fake && fake.exitCode === null) {
    const exited = new Promise((r) => fake.once('exit', r));
    fake.kill('SIGINT');
    await exited;
  }
  await hub?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('prints its URLs and credentials, and the printed commands register a connector the hub can call', async () => {
  const printed = (label: string) => new RegExp(`${label}:\\s+(\\S+)`).exec(output)![1]!;
  expect(printed('login URL')).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(printed('instance URL')).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const secret = printed('client secret');
  expect(secret).toMatch(/^[0-9a-f]{24}$/);
  const opportunityId = printed('seeded Opportunity');

  const put = /npx crm-bridge connectors put (\S+) --local/.exec(output)![1]!;
  expect((await hub.cli(['connectors', 'put', put, '--local'])).code).toBe(0);
  expect(output).toContain(`printf '%s' '${secret}' | npx crm-bridge secrets put sf client-secret --local`);
  expect((await hub.cli(['secrets', 'put', 'sf', 'client-secret', '--local'], secret)).code).toBe(0);

  const lead = await hub.api('POST', '/v1/callouts/sf/createLead', {
    payload: { LastName: 'Hopper', Company: 'Navy' },
  });
  expect(await hub.waitForJob(lead.body.jobId)).toMatchObject({ status: 'SUCCEEDED', result: { statusCode: 201 } });
  const update = await hub.api('POST', '/v1/callouts/sf/updateOpportunity', {
    payload: { StageName: 'Closed Won' },
    recordId: opportunityId,
  });
  expect(await hub.waitForJob(update.body.jobId)).toMatchObject({ status: 'SUCCEEDED' });
  const query = await hub.api('POST', '/v1/callouts/sf/findOpportunities', { payload: {} });
  expect((await hub.waitForJob(query.body.jobId)).result.data).toMatchObject({
    records: [{ Id: opportunityId, StageName: 'Closed Won' }],
  });

  await new Promise((r) => setTimeout(r, 500)); // the stand-in prints what arrived every 250 ms
  expect(output).toMatch(/login\s+client_credentials crm-bridge-local -> ok/);
  expect(output).toMatch(/POST\s+\/services\/data\/v[\d.]+\/sobjects\/Lead/);
}, 60_000);
