import type { RunningHub } from '../../local/hub-process';

/**
 * POST /v1/files through a running hub (size: the content's, unless the fields say
 * otherwise), then the one presigned PUT of the content: the created file's body.
 */
export async function createAndPut(hub: RunningHub, fields: Record<string, unknown>, content: Buffer): Promise<any> {
  const created = await hub.api('POST', '/v1/files', { size: content.length, ...fields });
  expect(created.status).toBe(201);
  const { upload } = created.body;
  const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: content });
  expect(put.status).toBe(200);
  return created.body;
}
