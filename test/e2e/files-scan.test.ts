import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { startHubProcess, type RunningHub } from '../../local/hub-process';
import { createAndPut } from '../support/hub-files';
import { unreachableFileLinkRow } from '../support/connectors';

/**
 * Malware scanning through the local hub (MALWARE_SCAN=local): the stand-in
 * scanner (local/scanner.ts) reads each completed upload from S3 and sends the
 * GuardDuty scan result event to the job queue, as the stack's EventBridge
 * rule does; the worker moves the file from SCANNING to AVAILABLE or QUARANTINED.
 */
let hub: RunningHub;
let db: DynamoDBDocumentClient;
const RECORD = '006000000000001AAA';
// The EICAR test file, built from parts so this repository holds no literal copy of it.
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS', '-TEST-FILE!$H+H*'].join('');

beforeAll(async () => {
  hub = await startHubProcess({ MALWARE_SCAN: 'local' });
  db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: hub.state.region,
      endpoint: hub.state.endpoints.dynamodb,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    }),
  );
  // A link target that is never reached: a quarantined file gets no link record.
  await db.send(
    new PutCommand({
      TableName: hub.state.tables.connectors,
      Item: unreachableFileLinkRow(),
    }),
  );
}, 60_000);
afterAll(async () => {
  db?.destroy();
  await hub?.stop();
});

async function upload(content: string, extra: Record<string, unknown> = {}) {
  const created = await createAndPut(
    hub,
    { fileName: 'note.txt', contentType: 'text/plain', ...extra },
    Buffer.from(content),
  );
  return created.fileId as string;
}

async function settled(fileId: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const got = await hub.api('GET', `/v1/files/${fileId}`);
    if (got.body.status !== 'SCANNING' || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a clean file is SCANNING after complete, then AVAILABLE with a download URL', async () => {
  const fileId = await upload('quarterly figures, nothing to see here');
  const done = await hub.api('POST', `/v1/files/${fileId}/complete`, {});
  expect(done.status).toBe(200);
  expect(done.body.status).toBe('SCANNING');
  expect(done.body.downloadUrl).toBeUndefined();
  const got = await settled(fileId);
  expect(got.body).toMatchObject({
    status: 'AVAILABLE',
    scanResult: 'NO_THREATS_FOUND',
    downloadUrl: expect.any(String),
  });
  expect(await (await fetch(got.body.downloadUrl)).text()).toBe('quarterly figures, nothing to see here');
});

test('a file with the EICAR test string is QUARANTINED: no download URL, a 409 on complete, its link says so', async () => {
  const fileId = await upload(`header\n${EICAR}\nfooter`, { recordId: RECORD, link: { connectorId: 'sf' } });
  expect((await hub.api('POST', `/v1/files/${fileId}/complete`, {})).body.status).toBe('SCANNING');
  const got = await settled(fileId);
  expect(got.body).toMatchObject({ status: 'QUARANTINED', scanResult: 'THREATS_FOUND' });
  expect(got.body.downloadUrl).toBeUndefined();
  expect(got.body.link).toMatchObject({
    status: 'FAILED',
    attempts: 0,
    error: { code: 'FILE_QUARANTINED', retryable: false },
  });
  const again = await hub.api('POST', `/v1/files/${fileId}/complete`, {});
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('FILE_QUARANTINED');
  const listed = await hub.api('GET', `/v1/files?recordId=${RECORD}`);
  expect(listed.body.files.find((f: { fileId: string }) => f.fileId === fileId)).toMatchObject({
    status: 'QUARANTINED',
  });
  expect(listed.body.files.find((f: { fileId: string }) => f.fileId === fileId).downloadUrl).toBeUndefined();
});
