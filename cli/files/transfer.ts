import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { api, apiOk, apiTarget, type ApiOptions, type ApiTarget } from '../api-client';
import { contentTypeOf } from '../../lambdas/shared/content-types';
import { Progress } from '../progress';
import { CliError } from '../target';
import { bytesDone, missingParts, staleReason, UploadStateStore, type UploadState } from './upload-state';

/**
 * Moving a file's bytes: the hub hands out presigned URLs and the bytes go
 * straight to and from S3, in parallel parts, resumable after an interruption.
 */
const guessType = (name: string) => contentTypeOf(name.split('.').pop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** S3 refused a transfer in a way another attempt will not change (a 4xx). */
class TransferRefusedError extends Error {}
/** S3 no longer has the multipart upload (aborted, or discarded by the bucket's lifecycle rule). */
class UploadGoneError extends TransferRefusedError {}

/** Network errors and S3 5xx are retried with backoff; refusals and hub errors are not. */
async function withRetries<T>(what: string, fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || err instanceof CliError || err instanceof TransferRefusedError) throw err;
      process.stderr.write(`retrying ${what} (${(err as Error).message})\n`);
      await sleep(250 * 2 ** i);
    }
  }
}

/** Throws unless S3 accepted the PUT. */
function checkPut(res: Response, what: string): void {
  if (res.ok) return;
  const message = `S3 answered HTTP ${res.status} for ${what}`;
  throw res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429
    ? new TransferRefusedError(message)
    : new Error(message);
}

/** Read size when streaming from disk: a few of these in flight per part, whatever the part size. */
const READ_CHUNK = 1024 * 1024;
/**
 * Parts up to this size are read whole into a buffer each in-flight part keeps
 * (4 × 8 MiB by default) and sent as one body: a quarter less CPU than streaming
 * them, which on a busy machine is time. Larger parts (files over ~31 GiB) are streamed.
 */
const MAX_BUFFERED_PART = 16 * 1024 * 1024;

/** Yields the stream's chunks, telling `onChunk` each size (progress without a second copy). */
async function* counted(source: AsyncIterable<Buffer>, onChunk: (bytes: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onChunk(chunk.length);
    yield chunk;
  }
}

/**
 * PUT bytes [start, start+length) of the file: read into `buffer` when it is given and
 * large enough, else streamed from disk (memory stays at one read buffer).
 */
async function putRange(
  url: string,
  path: string,
  start: number,
  length: number,
  headers: Record<string, string>,
  onChunk: (bytes: number) => void,
  buffer?: Buffer,
) {
  let body: Buffer | string | AsyncIterable<Buffer>;
  if (buffer && length <= buffer.length) {
    const file = await open(path, 'r');
    try {
      const { bytesRead } = await file.read(buffer, 0, length, start);
      if (bytesRead !== length)
        throw new CliError(`${path} changed while it was being uploaded; run the same command again`);
    } finally {
      await file.close();
    }
    body = buffer.subarray(0, length);
  } else {
    body =
      length === 0
        ? ''
        : counted(createReadStream(path, { start, end: start + length - 1, highWaterMark: READ_CHUNK }), onChunk);
  }
  // content-length is given so a stream goes as one plain body (S3 rejects chunked PUTs).
  const res = await fetch(url, {
    method: 'PUT',
    headers: { ...headers, 'content-length': String(length) },
    body,
    duplex: 'half',
  });
  await res.text(); // frees the connection for the next part
  if (body instanceof Buffer) onChunk(length);
  return res;
}

export interface UploadOptions extends ApiOptions {
  recordId?: string;
  /** A salesforce connector with `fileLink`: a link record is created in the org once the file is available. */
  link?: string;
  contentType?: string;
  concurrency: string;
  abort?: boolean;
}

interface Created {
  fileId: string;
  upload: {
    method?: 'PUT';
    url?: string;
    headers?: Record<string, string>;
    partSize?: number;
    parts?: Array<{ partNumber: number; url: string }>;
  };
}

export async function uploadFile(path: string, opts: UploadOptions): Promise<string> {
  const t = await apiTarget(opts);
  const abs = resolve(path);
  const info = await stat(abs).catch(() => undefined);
  if (!info?.isFile()) throw new CliError(`Cannot read ${path}: not a file`, 2);
  const store = new UploadStateStore();
  const previous = store.load(abs, t.baseUrl);
  const cleanUp = async (state: UploadState, what: string) => {
    const res = await api(t, 'DELETE', `/v1/files/${encodeURIComponent(state.fileId)}`);
    if (res.status >= 400 && res.status !== 404)
      throw new CliError(`Could not clean up upload ${state.fileId}: HTTP ${res.status}`);
    store.remove(state);
    process.stderr.write(
      `cleaned up ${what} ${state.fileId}${res.status === 404 ? ' (already gone on the hub)' : ''}\n`,
    );
  };

  if (opts.abort) {
    if (!previous) process.stderr.write(`no interrupted upload of ${path} to clean up\n`);
    else await cleanUp(previous, 'interrupted upload');
    return '';
  }
  const concurrency = Math.max(1, Math.min(16, Math.trunc(Number(opts.concurrency)) || 4));

  let resume: UploadState | undefined;
  if (previous) {
    const stale = staleReason(previous, info, Date.now());
    if (stale) {
      await cleanUp(previous, `stale upload (${stale})`);
    } else {
      const current = await api<{ status?: string; size?: number }>(
        t,
        'GET',
        `/v1/files/${encodeURIComponent(previous.fileId)}`,
      );
      if (current.status === 200 && current.body.status === 'PENDING') {
        resume = previous;
      } else if (current.status === 200 && current.body.status === 'AVAILABLE' && current.body.size === info.size) {
        // Completed, but the process ended before it could forget the upload.
        store.remove(previous);
        process.stderr.write(`upload ${previous.fileId} had already completed\n`);
        return previous.fileId;
      } else {
        store.remove(previous);
        process.stderr.write(
          `interrupted upload ${previous.fileId} no longer exists on the hub; starting a new upload\n`,
        );
      }
    }
  }

  for (let round = 1; ; round++) {
    let state: UploadState;
    let urls = new Map<number, string>();
    if (resume) {
      state = resume;
      const missing = missingParts(state);
      process.stderr.write(
        `resuming upload ${state.fileId}: ${state.partCount - missing.length} of ${state.partCount} parts done\n`,
      );
    } else {
      const created = await apiOk<Created>(t, 'POST', '/v1/files', {
        fileName: basename(abs),
        contentType: opts.contentType ?? guessType(abs),
        size: info.size,
        ...(opts.recordId && { recordId: opts.recordId }),
        ...(opts.link && { link: { connectorId: opts.link } }),
      });
      const { upload } = created;
      if (upload.method === 'PUT') {
        // At or under the multipart threshold: one streamed PUT, nothing worth resuming.
        const progress = new Progress('upload', info.size);
        const put = withRetries('upload', async () => {
          let sent = 0;
          const res = await putRange(upload.url!, abs, 0, info.size, upload.headers ?? {}, (n) => {
            sent += n;
            progress.add(n);
          }).catch((err: unknown) => {
            progress.add(-sent);
            throw err;
          });
          if (!res.ok) progress.add(-sent);
          checkPut(res, 'the upload');
        });
        await put.catch(async (err: Error) => {
          await api(t, 'DELETE', `/v1/files/${created.fileId}`).catch(() => undefined); // leave no pending record behind
          throw new CliError(`upload failed: ${err.message}`);
        });
        progress.finish();
        await apiOk(t, 'POST', `/v1/files/${created.fileId}/complete`, {});
        return created.fileId;
      }
      state = {
        fileId: created.fileId,
        baseUrl: t.baseUrl,
        path: abs,
        size: info.size,
        mtimeMs: info.mtimeMs,
        partSize: upload.partSize!,
        partCount: upload.parts!.length,
        parts: {},
        startedAt: new Date().toISOString(),
      };
      store.save(state);
      urls = new Map(upload.parts!.map((p) => [p.partNumber, p.url]));
    }
    try {
      await sendParts(t, state, urls, concurrency, store);
    } catch (err) {
      if (err instanceof UploadGoneError && round === 1) {
        await cleanUp(state, 'upload whose parts S3 no longer has');
        resume = undefined;
        continue;
      }
      throw err instanceof CliError
        ? err
        : new CliError(
            `upload ${state.fileId} stopped: ${(err as Error).message}. Run the same command again to resume it, or add --abort to clean it up`,
          );
    }
    const parts = Object.entries(state.parts).map(([n, etag]) => ({ partNumber: Number(n), etag }));
    await apiOk(t, 'POST', `/v1/files/${state.fileId}/complete`, { parts });
    store.remove(state);
    return state.fileId;
  }
}

/** Uploads the parts S3 does not have yet, `concurrency` at a time, recording each one as it lands. */
async function sendParts(
  t: ApiTarget,
  state: UploadState,
  urls: Map<number, string>,
  concurrency: number,
  store: UploadStateStore,
): Promise<void> {
  const queue = missingParts(state);
  const progress = new Progress('upload', state.size, bytesDone(state));
  // Presigned URLs for the missing parts of a resumed upload, or for parts whose URL expired, in batches.
  const refresh = async (partNumbers: number[]) => {
    for (let i = 0; i < partNumbers.length; i += 1000) {
      const fresh = await apiOk<{ parts: Array<{ partNumber: number; url: string }> }>(
        t,
        'POST',
        `/v1/files/${encodeURIComponent(state.fileId)}/parts`,
        {
          partNumbers: partNumbers.slice(i, i + 1000),
        },
      );
      for (const p of fresh.parts) urls.set(p.partNumber, p.url);
    }
  };
  if (queue.some((n) => !urls.has(n))) await refresh(queue.filter((n) => !urls.has(n)));

  const putPart = async (n: number, buffer?: Buffer): Promise<string> => {
    const start = (n - 1) * state.partSize;
    const length = Math.min(state.partSize, state.size - start);
    let refreshed = false;
    return withRetries(`part ${n}`, async () => {
      let sent = 0;
      const onChunk = (bytes: number) => {
        sent += bytes;
        progress.add(bytes);
      };
      try {
        let res = await putRange(urls.get(n)!, state.path, start, length, {}, onChunk, buffer);
        if (res.status === 403 && !refreshed) {
          // The URL expired during a long upload: one fresh URL, then the part again.
          refreshed = true;
          progress.add(-sent);
          sent = 0;
          await refresh([n]);
          res = await putRange(urls.get(n)!, state.path, start, length, {}, onChunk, buffer);
        }
        if (res.status === 404) throw new UploadGoneError(`S3 no longer has upload ${state.fileId}`);
        checkPut(res, `part ${n}`);
        const etag = res.headers.get('etag');
        if (!etag) throw new Error(`S3 sent no ETag for part ${n}`);
        return etag;
      } catch (err) {
        progress.add(-sent);
        throw err;
      }
    });
  };

  const interrupted = (signal: NodeJS.Signals) => {
    process.stderr.write(
      `\nupload ${state.fileId} interrupted: run the same command again to resume it, or add --abort to clean it up\n`,
    );
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  let failed = false;
  let results: PromiseSettledResult<void>[];
  try {
    // allSettled: after a failure the other workers take no new parts, but the
    // parts in flight land and are recorded, so a re-run does not send them again.
    results = await Promise.allSettled(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        // One buffer per worker, reused part after part (a part is done once S3 answered for all of it).
        const buffer = state.partSize <= MAX_BUFFERED_PART ? Buffer.allocUnsafe(state.partSize) : undefined;
        for (let n = queue.shift(); n !== undefined && !failed; n = queue.shift()) {
          try {
            state.parts[n] = await putPart(n, buffer);
          } catch (err) {
            failed = true;
            throw err;
          }
          store.save(state);
        }
      }),
    );
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  progress.finish();
}

/** Files larger than one range are downloaded in ranges of this size, DOWNLOAD_CONCURRENCY at a time. */
const RANGE_SIZE = 8 * 1024 * 1024;
const DOWNLOAD_CONCURRENCY = 4;

/** The server sent the whole object for a range request (a proxy that drops Range): download it in one piece. */
class RangeIgnoredError extends TransferRefusedError {}

function checkGet(res: Response, expected: number): void {
  if (res.status === expected) return;
  if (expected === 206 && res.status === 200) throw new RangeIgnoredError();
  const message = `S3 answered HTTP ${res.status} for the download`;
  throw res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429
    ? new CliError(message)
    : new Error(message);
}

/** The whole object, streamed to disk. */
async function getWhole(url: string, partial: string, progress: Progress): Promise<void> {
  const res = await fetch(url);
  checkGet(res, 200);
  await pipeline(
    Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>),
    (source: AsyncIterable<Buffer>) => counted(source, (n) => progress.add(n)),
    createWriteStream(partial),
  );
}

/**
 * The object in ranges fetched in parallel, each written at its place in the file.
 * `freshUrl` gives a new URL when the first one expired during a long download.
 */
async function getRanges(
  firstUrl: string,
  freshUrl: () => Promise<string>,
  size: number,
  partial: string,
  progress: Progress,
): Promise<void> {
  let url = firstUrl;
  let refreshing: Promise<string> | undefined;
  const file = await open(partial, 'w');
  let next = 0;
  let failed = false;
  try {
    const count = Math.ceil(size / RANGE_SIZE);
    const workers = Array.from({ length: Math.min(DOWNLOAD_CONCURRENCY, count) }, async () => {
      const buffer = Buffer.allocUnsafe(RANGE_SIZE);
      for (let i = next++; i < count && !failed; i = next++) {
        const start = i * RANGE_SIZE;
        const length = Math.min(RANGE_SIZE, size - start);
        await withRetries(`range ${i + 1}`, async () => {
          let got = 0;
          try {
            const range = { range: `bytes=${start}-${start + length - 1}` };
            const used = url;
            let res = await fetch(used, { headers: range });
            if (res.status === 403) {
              // Expired: one new URL for all the workers, then this range again.
              await res.body?.cancel();
              url = await (refreshing ??= freshUrl());
              if (url === used) throw new CliError('S3 answered HTTP 403 for the download');
              refreshing = undefined;
              res = await fetch(url, { headers: range });
            }
            checkGet(res, 206);
            for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
              if (got + chunk.length > length)
                throw new Error(`S3 sent more than the ${length} bytes asked for at ${start}`);
              buffer.set(chunk, got);
              got += chunk.length;
              progress.add(chunk.length);
            }
            if (got !== length) throw new Error(`S3 sent ${got} of the ${length} bytes asked for at ${start}`);
          } catch (err) {
            progress.add(-got);
            throw err;
          }
        }).catch((err: unknown) => {
          failed = true;
          throw err;
        });
        await file.write(buffer, 0, length, start);
      }
    });
    const failure = (await Promise.allSettled(workers)).find(
      (r): r is PromiseRejectedResult => r.status === 'rejected',
    );
    if (failure) throw failure.reason;
  } finally {
    await file.close();
  }
}

export async function downloadFile(fileId: string, opts: ApiOptions & { out?: string }): Promise<string> {
  const t = await apiTarget(opts);
  const file = await apiOk<{ fileName: string; size: number; status: string; downloadUrl?: string }>(
    t,
    'GET',
    `/v1/files/${encodeURIComponent(fileId)}`,
  );
  if (!file.downloadUrl)
    throw new CliError(`File ${fileId} is ${file.status}: it can be downloaded once its upload is complete`);
  // The stored name never contains a path, but it came from a client: basename() anyway.
  const name = basename(file.fileName);
  const out =
    opts.out === undefined
      ? name
      : (await stat(opts.out).catch(() => undefined))?.isDirectory()
        ? join(opts.out, name)
        : opts.out;
  const partial = `${out}.part`; // renamed once complete: an interrupted download never looks like the file
  let progress = new Progress('download', file.size);
  try {
    if (file.size <= RANGE_SIZE) {
      await getWhole(file.downloadUrl, partial, progress);
    } else {
      const freshUrl = async () =>
        (await apiOk<{ downloadUrl?: string }>(t, 'GET', `/v1/files/${encodeURIComponent(fileId)}`)).downloadUrl ?? '';
      await getRanges(file.downloadUrl, freshUrl, file.size, partial, progress).catch(async (err: unknown) => {
        if (!(err instanceof RangeIgnoredError)) throw err;
        progress = new Progress('download', file.size); // start over, in one piece
        await getWhole(file.downloadUrl!, partial, progress);
      });
    }
    progress.finish();
    const written = (await stat(partial)).size;
    if (written !== file.size)
      throw new CliError(`Downloaded ${written} bytes but the file has ${file.size}; try again`);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
  renameSync(partial, out);
  return out;
}
