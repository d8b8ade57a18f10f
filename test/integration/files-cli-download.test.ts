import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadFile } from '../../cli/files/transfer';

/**
 * `files download` against a stand-in for the hub API and S3 on 127.0.0.1: the
 * ranged download survives a URL that expires mid-way and a server that ignores Range.
 */
const body = randomBytes(20 * 1024 * 1024 + 123); // three ranges, the last one short
let server: Server;
let base: string;
let mode: 'ranges' | 'ignore-range' = 'ranges';
let issued = 0;
const requests: Array<{ url: string; range?: string; status: number }> = [];
const dir = mkdtempSync(join(tmpdir(), 'crm-bridge-download-'));

function handle(req: IncomingMessage, res: ServerResponse): void {
  const reply = (status: number, headers: Record<string, string | number>, data?: Buffer | string) => {
    requests.push({ url: req.url!, range: req.headers.range, status });
    res.writeHead(status, headers).end(data);
  };
  if (req.url === '/v1/files/f1') {
    if (req.headers['x-api-key'] !== 'k') return reply(403, {}, '{}');
    // Each call hands out a new URL; URL 1 "expires" after its first range.
    issued += 1;
    return reply(
      200,
      { 'content-type': 'application/json' },
      JSON.stringify({
        fileId: 'f1',
        fileName: 'data.bin',
        size: body.length,
        status: 'AVAILABLE',
        downloadUrl: `${base}/obj?v=${issued}`,
      }),
    );
  }
  if (req.url!.startsWith('/obj?v=')) {
    const version = Number(req.url!.slice('/obj?v='.length));
    if (version === 1 && requests.some((r) => r.url === req.url && r.status === 206)) return reply(403, {}, 'expired');
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (mode === 'ignore-range' || !m) return reply(200, { 'content-length': body.length }, body);
    const slice = body.subarray(Number(m[1]), Number(m[2]) + 1);
    return reply(
      206,
      { 'content-length': slice.length, 'content-range': `bytes ${m[1]}-${m[2]}/${body.length}` },
      slice,
    );
  }
  reply(404, {}, '');
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  issued = 0;
  requests.length = 0;
});

test('ranges in parallel, a URL that expired mid-way renewed through the hub, the file byte-identical', async () => {
  mode = 'ranges';
  const out = await downloadFile('f1', { apiUrl: base, apiKey: 'k', out: join(dir, 'a.bin') });
  expect(readFileSync(out).equals(body)).toBe(true);
  const ranges = requests.filter((r) => r.status === 206);
  expect(ranges.map((r) => r.range).sort()).toEqual([
    'bytes=0-8388607',
    'bytes=16777216-20971642',
    'bytes=8388608-16777215',
  ]);
  expect(requests.some((r) => r.status === 403)).toBe(true);
  expect(issued).toBe(2); // one renewal for all the ranges that met the expired URL
});

test('a server that ignores Range: the file comes in one piece', async () => {
  mode = 'ignore-range';
  const out = await downloadFile('f1', { apiUrl: base, apiKey: 'k', out: join(dir, 'b.bin') });
  expect(readFileSync(out).equals(body)).toBe(true);
  expect(requests.filter((r) => r.url.startsWith('/obj')).map((r) => r.status)).toEqual([200, 200, 200, 200]);
});
