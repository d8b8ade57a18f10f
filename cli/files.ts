import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { readLocalState } from '../local/state';
import { Progress } from './progress';
import { CliError } from './target';

/**
 * File commands talk to the hub's HTTP API (they never touch S3 credentials):
 * the hub hands out presigned URLs and the bytes go straight to S3.
 */
interface ApiTarget {
  baseUrl: string;
  apiKey: string;
}

interface FileOptions {
  local?: boolean;
  apiUrl?: string;
  apiKey?: string;
}

function fileTarget(opts: FileOptions): ApiTarget {
  if (opts.local) {
    try {
      const s = readLocalState();
      return { baseUrl: s.baseUrl, apiKey: s.apiKey };
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }
  const baseUrl = opts.apiUrl ?? process.env.CRM_BRIDGE_API_URL;
  const apiKey = opts.apiKey ?? process.env.CRM_BRIDGE_API_KEY;
  if (!baseUrl || !apiKey) {
    throw new CliError('Give the hub with --local, or --api-url (or CRM_BRIDGE_API_URL) and --api-key (or CRM_BRIDGE_API_KEY) for a stack deployed with -c apiAuth=apiKey', 2);
  }
  return { baseUrl: baseUrl.replace(/\/+$/, ''), apiKey };
}

async function api<T>(t: ApiTarget, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(t.baseUrl + path, {
    method,
    headers: { 'x-api-key': t.apiKey, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function apiOk<T>(t: ApiTarget, method: string, path: string, body?: unknown): Promise<T> {
  const res = await api<T & { error?: { code: string; message: string } }>(t, method, path, body);
  if (res.status >= 400) {
    const e = res.body?.error;
    throw new CliError(e ? `${e.code}: ${e.message}` : `HTTP ${res.status} from ${method} ${path}`, res.status === 400 || res.status === 413 ? 2 : 1);
  }
  return res.body;
}

const CONTENT_TYPES: Record<string, string> = {
  pdf: 'application/pdf', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', tif: 'image/tiff', tiff: 'image/tiff',
  txt: 'text/plain', csv: 'text/csv', json: 'application/json', xml: 'application/xml', zip: 'application/zip', gz: 'application/gzip',
  doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', mp4: 'video/mp4',
};
const guessType = (name: string) => CONTENT_TYPES[name.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';

/** Progress of a multipart upload, kept on disk so an interrupted upload can be resumed. */
interface UploadState {
  fileId: string;
  baseUrl: string;
  partSize: number;
  parts: Record<string, string>; // partNumber -> ETag
}

function statePathFor(path: string, size: number, mtimeMs: number, baseUrl: string): string {
  const key = createHash('sha256').update(JSON.stringify([resolve(path), size, mtimeMs, baseUrl])).digest('hex').slice(0, 32);
  return join(process.env.CRM_BRIDGE_UPLOAD_STATE_DIR ?? join(tmpdir(), 'crm-bridge', 'uploads'), `${key}.json`);
}

function saveState(path: string, state: UploadState): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(`${path}.tmp`, JSON.stringify(state));
  renameSync(`${path}.tmp`, path); // atomic: a kill mid-write never leaves half a file
}

async function withRetries<T>(what: string, fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || err instanceof CliError) throw err;
      await new Promise((r) => setTimeout(r, 250 * 2 ** i));
      process.stderr.write(`retrying ${what} (${(err as Error).message})\n`);
    }
  }
}

interface UploadOpts extends FileOptions {
  recordId?: string;
  contentType?: string;
  concurrency: string;
  abort?: boolean;
}

export async function uploadFile(path: string, opts: UploadOpts): Promise<string> {
  const t = fileTarget(opts);
  const info = await stat(path).catch(() => {
    throw new CliError(`Cannot read ${path}`, 2);
  });
  const statePath = statePathFor(path, info.size, info.mtimeMs, t.baseUrl);
  const previous = existsSync(statePath) ? (JSON.parse(readFileSync(statePath, 'utf8')) as UploadState) : undefined;

  if (opts.abort) {
    if (!previous) {
      process.stderr.write(`no interrupted upload of ${path} to clean up\n`);
      return '';
    }
    const res = await api(t, 'DELETE', `/v1/files/${previous.fileId}`);
    rmSync(statePath, { force: true });
    process.stderr.write(`cleaned up interrupted upload ${previous.fileId}${res.status === 404 ? ' (already gone on the hub)' : ''}\n`);
    return previous.fileId;
  }

  const concurrency = Math.max(1, Math.min(16, Number(opts.concurrency) || 4));
  let state: UploadState | undefined;
  let urls = new Map<number, string>();
  let partCount = 0;
  if (previous) {
    const current = await api<{ status?: string }>(t, 'GET', `/v1/files/${previous.fileId}`);
    if (current.status === 200 && current.body.status === 'PENDING') {
      state = previous;
      partCount = Math.ceil(info.size / state.partSize);
      const missing = Array.from({ length: partCount }, (_, i) => i + 1).filter((n) => !state!.parts[n]);
      process.stderr.write(`resuming upload ${state.fileId}: ${partCount - missing.length} of ${partCount} parts already uploaded\n`);
      if (missing.length) {
        const fresh = await apiOk<{ parts: Array<{ partNumber: number; url: string }> }>(t, 'POST', `/v1/files/${state.fileId}/parts`, { partNumbers: missing });
        urls = new Map(fresh.parts.map((p) => [p.partNumber, p.url]));
      }
    } else {
      process.stderr.write(`the interrupted upload ${previous.fileId} can no longer be resumed; starting again\n`);
      rmSync(statePath, { force: true });
    }
  }

  if (!state) {
    const created = await apiOk<{ fileId: string; upload: { method?: 'PUT'; url?: string; headers?: Record<string, string>; partSize?: number; parts?: Array<{ partNumber: number; url: string }> } }>(
      t,
      'POST',
      '/v1/files',
      { fileName: basename(path), contentType: opts.contentType ?? guessType(path), size: info.size, ...(opts.recordId && { recordId: opts.recordId }) },
    );
    const { upload } = created;
    if (upload.method === 'PUT') {
      // Small file (under the multipart threshold): one PUT.
      const progress = new Progress('upload', info.size);
      const body = readFileSync(path);
      await withRetries('upload', async () => {
        const res = await fetch(upload.url!, { method: 'PUT', headers: upload.headers, body });
        if (!res.ok) throw new Error(`S3 answered HTTP ${res.status}`);
      });
      progress.add(info.size);
      progress.finish();
      await apiOk(t, 'POST', `/v1/files/${created.fileId}/complete`, {});
      return created.fileId;
    }
    state = { fileId: created.fileId, baseUrl: t.baseUrl, partSize: upload.partSize!, parts: {} };
    saveState(statePath, state);
    partCount = upload.parts!.length;
    urls = new Map(upload.parts!.map((p) => [p.partNumber, p.url]));
  }

  const s = state;
  const alreadyDone = Object.keys(s.parts).reduce((sum, n) => sum + Math.min(s.partSize, info.size - (Number(n) - 1) * s.partSize), 0);
  const progress = new Progress('upload', info.size, alreadyDone);
  const queue = Array.from({ length: partCount }, (_, i) => i + 1).filter((n) => !s.parts[n]);
  const handle = await open(path, 'r');
  const interrupted = () => {
    process.stderr.write(`\nupload interrupted: run the same command again to resume, or add --abort to clean up (fileId ${s.fileId})\n`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        // One buffer per worker: memory stays at concurrency x partSize whatever the file size.
        const buffer = Buffer.allocUnsafe(s.partSize);
        for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
          const offset = (n - 1) * s.partSize;
          const length = Math.min(s.partSize, info.size - offset);
          const { bytesRead } = await handle.read(buffer, 0, length, offset);
          const partNumber = n;
          const etag = await withRetries(`part ${partNumber}`, async () => {
            let res = await fetch(urls.get(partNumber)!, { method: 'PUT', body: buffer.subarray(0, bytesRead) });
            if (res.status === 403) {
              // The presigned URL expired (a long upload): ask for a fresh one.
              const fresh = await apiOk<{ parts: Array<{ partNumber: number; url: string }> }>(t, 'POST', `/v1/files/${s.fileId}/parts`, { partNumbers: [partNumber] });
              urls.set(partNumber, fresh.parts[0]!.url);
              res = await fetch(urls.get(partNumber)!, { method: 'PUT', body: buffer.subarray(0, bytesRead) });
            }
            if (!res.ok) throw new Error(`S3 answered HTTP ${res.status} for part ${partNumber}`);
            return res.headers.get('etag')!;
          });
          s.parts[partNumber] = etag;
          saveState(statePath, s);
          progress.add(bytesRead);
        }
      }),
    );
  } finally {
    process.off('SIGINT', interrupted);
    await handle.close();
  }
  progress.finish();
  const parts = Object.entries(s.parts).map(([n, etag]) => ({ partNumber: Number(n), etag }));
  await apiOk(t, 'POST', `/v1/files/${s.fileId}/complete`, { parts });
  rmSync(statePath, { force: true });
  return s.fileId;
}

export async function downloadFile(fileId: string, opts: FileOptions & { out?: string }): Promise<string> {
  const t = fileTarget(opts);
  const file = await apiOk<{ fileName: string; size: number; status: string; downloadUrl?: string }>(t, 'GET', `/v1/files/${encodeURIComponent(fileId)}`);
  if (!file.downloadUrl) throw new CliError(`File ${fileId} is ${file.status}: it can be downloaded once its upload is complete`);
  const out = opts.out ?? file.fileName;
  const res = await fetch(file.downloadUrl);
  if (!res.ok || !res.body) throw new CliError(`S3 answered HTTP ${res.status} for the download`);
  const progress = new Progress('download', file.size);
  const counted = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
  counted.on('data', (chunk: Buffer) => progress.add(chunk.length));
  await pipeline(counted, createWriteStream(`${out}.part`));
  progress.finish();
  const written = (await stat(`${out}.part`)).size;
  if (written !== file.size) throw new CliError(`Downloaded ${written} bytes but the file has ${file.size}; try again`);
  renameSync(`${out}.part`, out);
  return out;
}

function apiOptions(cmd: Command): Command {
  return cmd
    .option('--local', 'use the running local hub (npm start)')
    .option('--api-url <url>', 'deployed API base URL (or CRM_BRIDGE_API_URL)')
    .option('--api-key <key>', 'API key (or CRM_BRIDGE_API_KEY)');
}

const started = performance.now();
function reportRss(): void {
  // For the benchmark: peak memory (files are streamed, so it stays flat whatever the size) and time in the command.
  if (process.env.CRM_BRIDGE_REPORT_RSS === '1') process.stderr.write(`maxRSS_KB=${process.resourceUsage().maxRSS} command_ms=${Math.round(performance.now() - started)}\n`);
}

export function registerFileCommands(program: Command): void {
  const cmd = program.command('files').description('Upload and download files straight to and from S3 (presigned URLs)');

  apiOptions(cmd.command('upload').argument('<path>'))
    .description('Upload a file in parallel parts, with progress; an interrupted upload resumes when run again')
    .option('--record-id <id>', 'CRM record the file belongs to')
    .option('--content-type <type>', 'MIME type (default: from the extension)')
    .option('--concurrency <n>', 'parts uploaded at once', '4')
    .option('--abort', 'clean up an interrupted upload of this file instead')
    .action(async (path: string, opts: UploadOpts) => {
      const fileId = await uploadFile(path, opts);
      if (fileId && !opts.abort) console.log(fileId);
      reportRss();
    });

  apiOptions(cmd.command('download').argument('<fileId>'))
    .description('Download a file (streamed to disk, with progress)')
    .option('--out <path>', 'where to write it (default: its file name)')
    .action(async (fileId: string, opts: FileOptions & { out?: string }) => {
      const out = await downloadFile(fileId, opts);
      process.stderr.write(`saved ${out}\n`);
      reportRss();
    });

  apiOptions(cmd.command('list'))
    .description('List the files of a CRM record')
    .requiredOption('--record-id <id>', 'CRM record id')
    .action(async (opts: FileOptions & { recordId: string }) => {
      const t = fileTarget(opts);
      let token: string | undefined;
      do {
        const page = await apiOk<{ files: Array<{ fileId: string; fileName: string; size: number; status: string; createdAt: string }>; nextToken?: string }>(
          t,
          'GET',
          `/v1/files?recordId=${encodeURIComponent(opts.recordId)}&limit=100${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`,
        );
        for (const f of page.files) console.log(`${f.fileId}\t${f.status}\t${f.size}\t${f.createdAt}\t${f.fileName}`);
        token = page.nextToken;
      } while (token);
    });

  apiOptions(cmd.command('delete').argument('<fileId>'))
    .description('Delete a file and its record')
    .action(async (fileId: string, opts: FileOptions) => {
      await apiOk(fileTarget(opts), 'DELETE', `/v1/files/${encodeURIComponent(fileId)}`);
      process.stderr.write(`deleted ${fileId}\n`);
    });
}
