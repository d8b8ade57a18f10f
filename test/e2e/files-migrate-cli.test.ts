import { createHash, randomBytes } from 'node:crypto';
import { startFakeSalesforce, type FakeSalesforce } from '../../local/fake-salesforce';
import { startHubProcess, type RunningHub } from '../../local/hub-process';

/**
 * `crm-bridge files migrate` end to end: the CLI submits to the local hub (a
 * child process: real handlers, emulators, SQS poller, worker), the worker
 * moves the Files from the Salesforce stand-in in queued batches, and the CLI
 * follows it and prints one audit row per file.
 */
const SECRET = 'sf-migrate-secret-5e1a';
const MiB = 1024 * 1024;
const ACCOUNT = '001MIGRATE00000001';
let hub: RunningHub;
let sf: FakeSalesforce;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

beforeAll(async () => {
  [sf, hub] = await Promise.all([
    startFakeSalesforce({ clients: [{ clientId: 'crm-bridge-migrate', clientSecret: SECRET }] }),
    // A small threshold keeps the file small; parts stay at S3's real 5 MiB minimum.
    startHubProcess({
      MIGRATION_MULTIPART_THRESHOLD_BYTES: String(5 * MiB),
      MIGRATION_PART_SIZE_BYTES: String(5 * MiB),
      MIGRATION_BATCH_SIZE: '1',
    }),
  ]);
  await hub.putConnector({
    connectorId: 'sf-org',
    type: 'salesforce',
    loginUrl: sf.loginUrl,
    auth: { type: 'clientCredentials', clientId: 'crm-bridge-migrate', clientSecret: { secret: 'client-secret' } },
    fileLink: {},
  });
  expect((await hub.cli(['secrets', 'put', 'sf-org', 'client-secret', '--local'], `${SECRET}\n`)).code).toBe(0);
}, 60_000);

afterAll(async () => {
  await hub?.stop();
  await sf?.close();
});

test('dry run, then a verified move with --delete-after-copy, then the audit again by id', async () => {
  const large = randomBytes(11 * MiB + 5);
  const big = sf.seedFile({ title: 'Warehouse walkthrough', extension: 'mp4', content: large, links: [ACCOUNT] });
  const small = sf.seedFile({
    title: 'Signed NDA',
    extension: 'pdf',
    content: Buffer.from('signed'),
    links: [ACCOUNT],
  });

  const migrate = (flag: string) =>
    hub.cli([
      'files',
      'migrate',
      '--connector',
      'sf-org',
      '--where',
      "FileExtension IN ('mp4', 'pdf')",
      flag,
      '--interval',
      '0.2',
      '--local',
    ]);
  const dry = await migrate('--dry-run');
  expect(dry.code).toBe(0);
  expect(
    dry.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t')[0]),
  ).toEqual(['WOULD_MOVE', 'WOULD_MOVE']);
  expect(dry.stderr).toContain(
    `dry run: 2 file(s) would move, 11.0 MiB (${large.length + 6} bytes); --delete-after-copy would free 11.0 MiB (${large.length + 6} bytes)`,
  );
  expect(sf.calls.filter((c) => c.path.endsWith('/VersionData'))).toHaveLength(0);

  const run = await migrate('--delete-after-copy');
  expect(run.code).toBe(0);
  const rows = run.stdout
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
  expect(rows.map((r) => [r[0], r[1], r[6]])).toEqual([
    ['DELETED', big.versionId, 'Warehouse walkthrough'],
    ['DELETED', small.versionId, 'Signed NDA'],
  ]);
  expect(run.stderr).toMatch(/2 moved \(\d+ bytes, 2 file records\), 0 skipped, 0 failed, 2 deleted/);
  // The documents are gone from Salesforce; the files are the record's in the hub, byte for byte.
  expect(sf.records.has(big.documentId) || sf.records.has(small.documentId)).toBe(false);
  const listed = await hub.api('GET', `/v1/files?recordId=${ACCOUNT}`);
  expect(
    listed.body.files.map((f: { fileName: string; link: { status: string } }) => [f.fileName, f.link.status]).sort(),
  ).toEqual([
    ['Signed NDA.pdf', 'DELIVERED'],
    ['Warehouse walkthrough.mp4', 'DELIVERED'],
  ]);
  const video = listed.body.files.find((f: { fileName: string }) => f.fileName.endsWith('.mp4'));
  expect(md5(Buffer.from(await (await fetch(video.downloadUrl)).arrayBuffer()))).toBe(md5(large));

  const id = /migration (\S+) accepted/.exec(run.stderr)![1]!;
  const again = await hub.cli(['files', 'migration', id, '--local']);
  expect(again.code).toBe(0);
  expect(again.stdout).toBe(run.stdout);
}, 120_000);

test('a --where that is not a plain condition on ContentVersion is refused with exit code 2', async () => {
  const res = await hub.cli([
    'files',
    'migrate',
    '--connector',
    'sf-org',
    '--where',
    'Id IN (SELECT ContentDocumentId FROM ContentDocumentLink)',
    '--local',
  ]);
  expect(res.code).toBe(2);
  expect(res.stderr).toMatch(/INVALID_REQUEST: Invalid where: subqueries \(SELECT\) are not allowed/);
});
