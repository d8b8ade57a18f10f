import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import { UploadStateStore, type UploadState } from '../../cli/files/upload-state';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ROOT, startHubProcess, type RunningHub } from '../../local/hub-process';

/** `crm-bridge files ...` against the local hub: parallel parts, progress, resume, cleanup. */
let hub: RunningHub;
const dir = mkdtempSync(join(tmpdir(), 'crm-bridge-files-cli-'));
const stateDir = join(dir, 'state');
const bigPath = join(dir, 'contract scan.bin');
const big = randomBytes(30 * 1024 * 1024 + 12345); // 4 parts of 8 MiB
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  hub = await startHubProcess();
  writeFileSync(bigPath, big);
});
afterAll(async () => {
  await hub?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function cli(
  args: string[],
  opts: { killWhen?: () => boolean } = {},
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'cli/crm-bridge.cjs'), ...args], {
      cwd: dir,
      env: { ...process.env, CRM_BRIDGE_LOCAL_STATE: hub.statePath, CRM_BRIDGE_UPLOAD_STATE_DIR: stateDir },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.killWhen
      ? setInterval(() => {
          if (opts.killWhen!()) p.kill('SIGKILL');
        }, 20)
      : undefined;
    p.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function recorded(): UploadState | undefined {
  return new UploadStateStore(stateDir).load(bigPath, hub.state.baseUrl);
}

function partsDone(): number {
  if (!existsSync(stateDir)) return 0;
  const files = readdirSync(stateDir).filter((f) => f.endsWith('.json'));
  if (files.length === 0) return 0;
  try {
    return Object.keys(JSON.parse(readFileSync(join(stateDir, files[0]!), 'utf8')).parts).length;
  } catch {
    return 0;
  }
}

test('upload in parallel parts with progress, list, download byte-identical, delete', async () => {
  const up = await cli(['files', 'upload', bigPath, '--local', '--record-id', 'R-CLI']);
  expect(up.stderr).toMatch(/upload \[#+\] 100% /);
  expect(up.code).toBe(0);
  const fileId = up.stdout.trim();
  const listed = await cli(['files', 'list', '--record-id', 'R-CLI', '--local']);
  expect(listed.stdout).toContain(`${fileId}\tAVAILABLE\t${big.length}`);
  expect(listed.stdout.trim().split('\t').slice(-2)).toEqual(['-', 'contract scan.bin']);
  const out = join(dir, 'downloaded.bin');
  const down = await cli(['files', 'download', fileId, '--out', out, '--local']);
  expect(down.code).toBe(0);
  expect(down.stderr).toMatch(/download \[#+\] 100% /);
  expect(sha(readFileSync(out))).toBe(sha(big));
  expect((await cli(['files', 'delete', fileId, '--local'])).code).toBe(0);
  expect((await hub.api('GET', `/v1/files/${fileId}`)).status).toBe(404);
}, 60_000);

test('an interrupted upload resumes where it stopped', async () => {
  const killed = await cli(['files', 'upload', bigPath, '--local', '--concurrency', '1'], {
    killWhen: () => partsDone() >= 1,
  });
  expect(killed.signal).toBe('SIGKILL');
  const done = partsDone();
  expect(done).toBeGreaterThanOrEqual(1);
  expect(done).toBeLessThan(4);
  const interruptedId = recorded()!.fileId;
  const resumed = await cli(['files', 'upload', bigPath, '--local']);
  expect(resumed.code).toBe(0);
  expect(resumed.stderr).toContain(`resuming upload ${interruptedId}: ${done} of 4 parts done`);
  const fileId = resumed.stdout.trim();
  expect(fileId).toBe(interruptedId);
  const file = await hub.api('GET', `/v1/files/${fileId}`);
  expect(file.body.status).toBe('AVAILABLE');
  expect(sha(Buffer.from(await (await fetch(file.body.downloadUrl)).arrayBuffer()))).toBe(sha(big));
  expect(partsDone()).toBe(0); // state removed after completion
}, 60_000);

test('--abort cleans up an interrupted upload and says so', async () => {
  const killed = await cli(['files', 'upload', bigPath, '--local', '--concurrency', '1'], {
    killWhen: () => partsDone() >= 1,
  });
  expect(killed.signal).toBe('SIGKILL');
  const fileId = JSON.parse(
    readFileSync(
      join(
        stateDir,
        readdirSync(stateDir).find((f) => f.endsWith('.json'))!,
      ),
      'utf8',
    ),
  ).fileId;
  const aborted = await cli(['files', 'upload', bigPath, '--local', '--abort']);
  expect(aborted.code).toBe(0);
  expect(aborted.stderr).toContain(`cleaned up interrupted upload ${fileId}`);
  expect((await hub.api('GET', `/v1/files/${fileId}`)).status).toBe(404);
  expect((await cli(['files', 'upload', bigPath, '--local', '--abort'])).stderr).toContain('no interrupted upload');
}, 60_000);

test('a small file goes up in one PUT; errors have clear exit codes', async () => {
  const small = join(dir, 'note.txt');
  writeFileSync(small, 'hello from the CLI');
  const up = await cli(['files', 'upload', small, '--local']);
  expect(up.code).toBe(0);
  const got = await hub.api('GET', `/v1/files/${up.stdout.trim()}`);
  expect(got.body).toMatchObject({ status: 'AVAILABLE', contentType: 'text/plain', size: 18, fileName: 'note.txt' });
  const missing = await cli(['files', 'download', 'no-such-file', '--local']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('FILE_NOT_FOUND');
  expect((await cli(['files', 'upload', join(dir, 'nope.bin'), '--local'])).code).toBe(2);
});

test('a stale interrupted upload (older than S3 keeps parts) is cleaned up, and the command says so', async () => {
  const killed = await cli(['files', 'upload', bigPath, '--local', '--concurrency', '1'], {
    killWhen: () => partsDone() >= 1,
  });
  expect(killed.signal).toBe('SIGKILL');
  const state = recorded()!;
  new UploadStateStore(stateDir).save({ ...state, startedAt: new Date(Date.now() - 2 * 86_400_000).toISOString() });
  const again = await cli(['files', 'upload', bigPath, '--local']);
  expect(again.code).toBe(0);
  expect(again.stderr).toContain(`cleaned up stale upload (it is over 23 hours old`);
  expect(again.stderr).toContain(state.fileId);
  expect(again.stderr).not.toContain('resuming');
  expect((await hub.api('GET', `/v1/files/${state.fileId}`)).status).toBe(404);
  const fresh = await hub.api('GET', `/v1/files/${again.stdout.trim()}`);
  expect(fresh.body).toMatchObject({ status: 'AVAILABLE', size: big.length });
  expect(again.stdout.trim()).not.toBe(state.fileId);
}, 60_000);

test('an upload whose parts S3 dropped starts over; one already completed is not sent again', async () => {
  const killed = await cli(['files', 'upload', bigPath, '--local', '--concurrency', '1'], {
    killWhen: () => partsDone() >= 1,
  });
  expect(killed.signal).toBe('SIGKILL');
  const state = recorded()!;
  const { Item } = await hub.db.send(
    new GetCommand({ TableName: hub.state.tables.files, Key: { fileId: state.fileId } }),
  );
  const s3 = new S3Client({
    region: hub.state.region,
    endpoint: hub.state.endpoints.s3,
    forcePathStyle: true,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
  });
  try {
    // What the bucket's lifecycle rule does to an upload left unfinished.
    await s3.send(
      new AbortMultipartUploadCommand({ Bucket: hub.state.bucket, Key: Item!.key, UploadId: Item!.uploadId }),
    );
  } finally {
    s3.destroy();
  }
  const again = await cli(['files', 'upload', bigPath, '--local']);
  expect(again.code).toBe(0);
  expect(again.stderr).toContain(`resuming upload ${state.fileId}`);
  expect(again.stderr).toContain(`cleaned up upload whose parts S3 no longer has ${state.fileId}`);
  const fileId = again.stdout.trim();
  expect(fileId).not.toBe(state.fileId);
  const file = await hub.api('GET', `/v1/files/${fileId}`);
  expect(sha(Buffer.from(await (await fetch(file.body.downloadUrl)).arrayBuffer()))).toBe(sha(big));

  // The state of a finished upload left behind (the process died right after completing).
  new UploadStateStore(stateDir).save({ ...state, fileId, startedAt: new Date().toISOString() });
  const repeat = await cli(['files', 'upload', bigPath, '--local']);
  expect(repeat.code).toBe(0);
  expect(repeat.stderr).toContain(`upload ${fileId} had already completed`);
  expect(repeat.stderr).not.toMatch(/upload \[/);
  expect(repeat.stdout.trim()).toBe(fileId);
  expect(recorded()).toBeUndefined();
}, 60_000);
