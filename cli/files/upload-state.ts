import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What `files upload` remembers about a multipart upload in progress, so a re-run
 * sends only the missing parts. One small JSON file per (absolute path, hub);
 * the file's size and mtime are stored inside, so a file changed since the
 * interruption is noticed (and its half-done upload cleaned up) instead of
 * silently leaving an orphan behind under another key.
 */
export interface UploadState {
  fileId: string;
  baseUrl: string;
  path: string;
  size: number;
  mtimeMs: number;
  partSize: number;
  partCount: number;
  /** partNumber -> ETag of each part S3 has accepted. */
  parts: Record<string, string>;
  startedAt: string;
}

/**
 * The bucket's lifecycle rule aborts unfinished multipart uploads after a day,
 * taking their parts with it: an older upload cannot be resumed.
 */
export const RESUMABLE_FOR_MS = 23 * 3600 * 1000;

export function defaultStateDir(env: Record<string, string | undefined> = process.env): string {
  return env.CRM_BRIDGE_UPLOAD_STATE_DIR ?? join(tmpdir(), 'crm-bridge', 'uploads');
}

export class UploadStateStore {
  constructor(readonly dir: string = defaultStateDir()) {}

  pathFor(absPath: string, baseUrl: string): string {
    const key = createHash('sha256')
      .update(JSON.stringify([absPath, baseUrl]))
      .digest('hex')
      .slice(0, 32);
    return join(this.dir, `${key}.json`);
  }

  /** The recorded upload of this file to this hub; an unreadable record counts as none. */
  load(absPath: string, baseUrl: string): UploadState | undefined {
    try {
      const state = JSON.parse(readFileSync(this.pathFor(absPath, baseUrl), 'utf8')) as UploadState;
      return typeof state.fileId === 'string' && state.partSize > 0 ? state : undefined;
    } catch {
      return undefined;
    }
  }

  save(state: UploadState): void {
    const path = this.pathFor(state.path, state.baseUrl);
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(`${path}.tmp`, JSON.stringify(state), { mode: 0o600 });
    renameSync(`${path}.tmp`, path); // atomic: a kill mid-write never leaves half a record
  }

  remove(state: Pick<UploadState, 'path' | 'baseUrl'>): void {
    rmSync(this.pathFor(state.path, state.baseUrl), { force: true });
  }
}

/** Why a recorded upload cannot be resumed, or undefined when it can. */
export function staleReason(
  state: UploadState,
  file: { size: number; mtimeMs: number },
  now: number,
): string | undefined {
  if (state.size !== file.size || state.mtimeMs !== file.mtimeMs) return 'the file has changed since';
  if (!(now - Date.parse(state.startedAt) < RESUMABLE_FOR_MS))
    return 'it is over 23 hours old and S3 discards unfinished uploads after a day';
  return undefined;
}

/** Part numbers (1-based) S3 does not have yet. */
export function missingParts(state: UploadState): number[] {
  return Array.from({ length: state.partCount }, (_, i) => i + 1).filter((n) => !state.parts[n]);
}

/** Bytes in the parts already uploaded (the last part may be short). */
export function bytesDone(state: UploadState): number {
  return Object.keys(state.parts).reduce(
    (sum, n) => sum + Math.min(state.partSize, state.size - (Number(n) - 1) * state.partSize),
    0,
  );
}
