import { createHash, randomBytes } from 'node:crypto';
import { HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { startHubProcess, type RunningHub } from '../../local/hub-process';
import { createAndPut } from '../support/hub-files';

/** The v1 files contract through the local hub: bytes go straight to S3 (fauxqs) with presigned URLs. */
let hub: RunningHub;
let s3: S3Client;
const MAX = 64 * 1024 * 1024;
const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  hub = await startHubProcess({ MAX_FILE_SIZE_BYTES: String(MAX) });
  s3 = new S3Client({
    region: hub.state.region,
    endpoint: hub.state.endpoints.s3,
    forcePathStyle: true,
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
  });
});
afterAll(async () => {
  s3?.destroy();
  await hub?.stop();
});

async function uploadSingle(content: Buffer, extra: Record<string, unknown> = {}) {
  const created = await createAndPut(
    hub,
    { fileName: 'invoice 2026 – März.pdf', contentType: 'application/pdf', ...extra },
    content,
  );
  expect(created.upload).toEqual({
    method: 'PUT',
    url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/.+X-Amz-Signature=/),
    headers: { 'content-type': 'application/pdf' },
  });
  return created.fileId as string;
}

async function download(url: string) {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return {
    body: Buffer.from(await res.arrayBuffer()),
    disposition: res.headers.get('content-disposition'),
    type: res.headers.get('content-type'),
  };
}

test('a small file: one presigned PUT, complete, download byte-identical under its name', async () => {
  const content = randomBytes(100_000);
  const fileId = await uploadSingle(content, { recordId: '006A1' });
  expect((await hub.api('GET', `/v1/files/${fileId}`)).body).toMatchObject({ status: 'PENDING' });
  expect((await hub.api('GET', `/v1/files/${fileId}`)).body.downloadUrl).toBeUndefined();
  const done = await hub.api('POST', `/v1/files/${fileId}/complete`, {});
  expect(done.status).toBe(200);
  expect(done.body).toMatchObject({
    fileId,
    status: 'AVAILABLE',
    size: content.length,
    recordId: '006A1',
    fileName: 'invoice 2026 – März.pdf',
    contentType: 'application/pdf',
  });
  const got = await hub.api('GET', `/v1/files/${fileId}`);
  expect(got.body).toEqual({
    fileId,
    fileName: 'invoice 2026 – März.pdf',
    contentType: 'application/pdf',
    size: 100_000,
    status: 'AVAILABLE',
    recordId: '006A1',
    createdAt: expect.any(String),
    downloadUrl: expect.any(String),
  });
  const file = await download(got.body.downloadUrl);
  expect(sha256(file.body)).toBe(sha256(content));
  // S3 answers with these headers because they are signed into the URL (the emulator ignores them).
  const signed = new URL(got.body.downloadUrl).searchParams;
  expect(signed.get('response-content-disposition')).toBe(
    `attachment; filename="invoice 2026 _ M_rz.pdf"; filename*=UTF-8''invoice%202026%20%E2%80%93%20M%C3%A4rz.pdf`,
  );
  expect(signed.get('response-content-type')).toBe('application/pdf');
  expect(Number(signed.get('X-Amz-Expires'))).toBe(900);
  // Completing again is harmless.
  expect((await hub.api('POST', `/v1/files/${fileId}/complete`, {})).body.status).toBe('AVAILABLE');
});

test('a 50 MB file: parallel multipart PUTs to presigned part URLs, downloaded back identical', async () => {
  const content = randomBytes(50 * 1024 * 1024);
  const created = await hub.api('POST', '/v1/files', {
    fileName: 'scan.tiff',
    contentType: 'image/tiff',
    size: content.length,
    recordId: '006B2',
  });
  expect(created.status).toBe(201);
  const { partSize, parts } = created.body.upload;
  expect(partSize).toBeGreaterThanOrEqual(5 * 1024 * 1024);
  expect(parts).toHaveLength(Math.ceil(content.length / partSize));
  const etags = await Promise.all(
    parts.map(async ({ partNumber, url }: { partNumber: number; url: string }) => {
      const res = await fetch(url, {
        method: 'PUT',
        body: content.subarray((partNumber - 1) * partSize, partNumber * partSize),
      });
      expect(res.status).toBe(200);
      return { partNumber, etag: res.headers.get('etag')! };
    }),
  );
  // A part left out: refused before S3 assembles anything, so the upload can still be finished.
  const partial = await hub.api('POST', `/v1/files/${created.body.fileId}/complete`, { parts: etags.slice(1) });
  expect(partial.status).toBe(400);
  expect(partial.body.error).toEqual({ code: 'INVALID_REQUEST', message: expect.stringContaining('missing: 1') });
  const done = await hub.api('POST', `/v1/files/${created.body.fileId}/complete`, { parts: etags.reverse() });
  expect(done.status).toBe(200);
  expect(done.body.status).toBe('AVAILABLE');
  expect(sha256((await download(done.body.downloadUrl)).body)).toBe(sha256(content));
}, 60_000);

test('fresh part URLs can be asked for while an upload is pending', async () => {
  const created = await hub.api('POST', '/v1/files', {
    fileName: 'big.bin',
    contentType: 'application/octet-stream',
    size: 20 * 1024 * 1024,
  });
  const res = await hub.api('POST', `/v1/files/${created.body.fileId}/parts`, { partNumbers: [2, 3] });
  expect(res.status).toBe(200);
  expect(res.body.parts.map((p: { partNumber: number }) => p.partNumber)).toEqual([2, 3]);
  expect((await hub.api('POST', `/v1/files/${created.body.fileId}/parts`, { partNumbers: [9] })).status).toBe(400);
  expect((await hub.api('DELETE', `/v1/files/${created.body.fileId}`)).status).toBe(204);
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: hub.state.bucket }));
  expect((uploads.Uploads ?? []).some((u) => u.Key === `files/${created.body.fileId}`)).toBe(false);
});

test('size mismatch: 409 and the file stays not available', async () => {
  const created = await hub.api('POST', '/v1/files', { fileName: 'a.txt', contentType: 'text/plain', size: 10 });
  await fetch(created.body.upload.url, { method: 'PUT', headers: created.body.upload.headers, body: 'only 7 b' });
  const done = await hub.api('POST', `/v1/files/${created.body.fileId}/complete`, {});
  expect(done.status).toBe(409);
  expect(done.body.error.code).toBe('SIZE_MISMATCH');
  expect((await hub.api('GET', `/v1/files/${created.body.fileId}`)).body).toMatchObject({ status: 'PENDING' });
  const nothing = await hub.api('POST', '/v1/files', { fileName: 'b.txt', contentType: 'text/plain', size: 3 });
  expect((await hub.api('POST', `/v1/files/${nothing.body.fileId}/complete`, {})).body.error.code).toBe(
    'SIZE_MISMATCH',
  );
});

test('delete removes the object and the record', async () => {
  const fileId = await uploadSingle(randomBytes(1000));
  await hub.api('POST', `/v1/files/${fileId}/complete`, {});
  const del = await hub.api('DELETE', `/v1/files/${fileId}`);
  expect(del.status).toBe(204);
  expect((await hub.api('GET', `/v1/files/${fileId}`)).body.error.code).toBe('FILE_NOT_FOUND');
  await expect(
    s3.send(new HeadObjectCommand({ Bucket: hub.state.bucket, Key: `files/${fileId}` })),
  ).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
});

test('list by record, paginated', async () => {
  const recordId = `001-${Date.now()}`;
  for (let i = 0; i < 5; i++)
    await hub.api('POST', '/v1/files', { fileName: `f${i}.txt`, contentType: 'text/plain', size: 1, recordId });
  await hub.api('POST', '/v1/files', {
    fileName: 'other.txt',
    contentType: 'text/plain',
    size: 1,
    recordId: 'someone-else',
  });
  const first = await hub.api('GET', `/v1/files?recordId=${recordId}&limit=3`);
  expect(first.status).toBe(200);
  expect(first.body.files).toHaveLength(3);
  expect(first.body.nextToken).toEqual(expect.any(String));
  const second = await hub.api(
    'GET',
    `/v1/files?recordId=${recordId}&limit=3&nextToken=${encodeURIComponent(first.body.nextToken)}`,
  );
  const names = [...first.body.files, ...second.body.files].map((f: { fileName: string }) => f.fileName).sort();
  expect(names).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt']);
  expect(second.body.nextToken).toBeUndefined();
});

test.each([
  { name: 'unknown file', method: 'GET', path: '/v1/files/nope', body: undefined, status: 404, code: 'FILE_NOT_FOUND' },
  {
    name: 'unknown file complete',
    method: 'POST',
    path: '/v1/files/nope/complete',
    body: {},
    status: 404,
    code: 'FILE_NOT_FOUND',
  },
  {
    name: 'unknown file delete',
    method: 'DELETE',
    path: '/v1/files/nope',
    body: undefined,
    status: 404,
    code: 'FILE_NOT_FOUND',
  },
  {
    name: 'too large',
    method: 'POST',
    path: '/v1/files',
    body: { fileName: 'x', contentType: 'text/plain', size: MAX + 1 },
    status: 413,
    code: 'FILE_TOO_LARGE',
  },
  {
    name: 'negative size',
    method: 'POST',
    path: '/v1/files',
    body: { fileName: 'x', contentType: 'text/plain', size: -1 },
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'path in name',
    method: 'POST',
    path: '/v1/files',
    body: { fileName: '../x', contentType: 'text/plain', size: 1 },
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'bad content type',
    method: 'POST',
    path: '/v1/files',
    body: { fileName: 'x', contentType: 'pdf', size: 1 },
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'unknown field',
    method: 'POST',
    path: '/v1/files',
    body: { fileName: 'x', contentType: 'text/plain', size: 1, owner: 'me' },
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'list without recordId',
    method: 'GET',
    path: '/v1/files',
    body: undefined,
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'list limit over 100',
    method: 'GET',
    path: '/v1/files?recordId=R&limit=101',
    body: undefined,
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'size as a string',
    method: 'POST',
    path: '/v1/files',
    body: { fileName: 'x', contentType: 'text/plain', size: '10' },
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'fractional size',
    method: 'POST',
    path: '/v1/files',
    body: { fileName: 'x', contentType: 'text/plain', size: 1.5 },
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'no contentType',
    method: 'POST',
    path: '/v1/files',
    body: { fileName: 'x', size: 1 },
    status: 400,
    code: 'INVALID_REQUEST',
  },
  {
    name: 'parts for an unknown part number',
    method: 'POST',
    path: '/v1/files/x/complete',
    body: { parts: [{ partNumber: 0, etag: 'e' }] },
    status: 400,
    code: 'INVALID_REQUEST',
  },
])('$name -> $status $code', async ({ method, path, body, status, code }) => {
  const res = await hub.api(method, path, body);
  expect(res.status).toBe(status);
  expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
});
