import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bytesDone,
  missingParts,
  RESUMABLE_FOR_MS,
  staleReason,
  UploadStateStore,
  type UploadState,
} from '../../../cli/files/upload-state';
import { Progress } from '../../../cli/progress';

const MiB = 1024 ** 2;
const now = Date.parse('2026-03-01T12:00:00Z');
const state = (over: Partial<UploadState> = {}): UploadState => ({
  fileId: 'f1',
  baseUrl: 'http://127.0.0.1:3000',
  path: '/data/scan.bin',
  size: 20 * MiB + 5,
  mtimeMs: 1000,
  partSize: 8 * MiB,
  partCount: 3,
  parts: {},
  startedAt: new Date(now - 3600_000).toISOString(),
  ...over,
});

describe('upload state', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'crm-bridge-upload-state-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('is kept per file and hub, and survives a re-run', () => {
    const store = new UploadStateStore(dir);
    store.save(state({ parts: { 2: '"e2"' } }));
    expect(store.load('/data/scan.bin', 'http://127.0.0.1:3000')).toEqual(state({ parts: { 2: '"e2"' } }));
    expect(store.load('/data/scan.bin', 'http://127.0.0.1:4000')).toBeUndefined();
    expect(store.load('/data/other.bin', 'http://127.0.0.1:3000')).toBeUndefined();
    store.remove(state());
    expect(store.load('/data/scan.bin', 'http://127.0.0.1:3000')).toBeUndefined();
  });

  test('an unreadable record counts as none', () => {
    const store = new UploadStateStore(dir);
    writeFileSync(store.pathFor('/data/scan.bin', 'http://h'), '{"fileId": "f1", "par');
    expect(store.load('/data/scan.bin', 'http://h')).toBeUndefined();
  });

  test('missing parts and bytes done (the last part is short)', () => {
    const s = state({ parts: { 1: 'a', 3: 'c' } });
    expect(missingParts(s)).toEqual([2]);
    expect(bytesDone(s)).toBe(8 * MiB + 4 * MiB + 5);
    expect(missingParts(state())).toEqual([1, 2, 3]);
  });

  test('stale when the file changed or S3 has discarded the parts', () => {
    expect(staleReason(state(), { size: 20 * MiB + 5, mtimeMs: 1000 }, now)).toBeUndefined();
    expect(staleReason(state(), { size: 20 * MiB + 6, mtimeMs: 1000 }, now)).toMatch(/changed/);
    expect(staleReason(state(), { size: 20 * MiB + 5, mtimeMs: 2000 }, now)).toMatch(/changed/);
    expect(
      staleReason(
        state({ startedAt: new Date(now - RESUMABLE_FOR_MS - 1).toISOString() }),
        { size: 20 * MiB + 5, mtimeMs: 1000 },
        now,
      ),
    ).toMatch(/23 hours/);
    expect(staleReason(state({ startedAt: 'garbage' }), { size: 20 * MiB + 5, mtimeMs: 1000 }, now)).toMatch(
      /23 hours/,
    );
  });
});

describe('Progress', () => {
  const sink = (isTTY: boolean) => {
    const lines: string[] = [];
    return { lines, out: { isTTY, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream };
  };

  test('without a terminal: one plain line per 10% with bytes, rate and ETA', () => {
    const { lines, out } = sink(false);
    const p = new Progress('upload', 100 * MiB, 0, out);
    for (let i = 0; i < 100; i++) p.add(MiB);
    p.finish();
    expect(lines).toHaveLength(11); // as it starts, then every 10%
    expect(lines.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    expect(lines[1]).toMatch(/^upload \[#{2}\.{22}\]  10% 10\.0 MB\/100\.0 MB [\d.]+ MB\/s ETA (\d+s|\?)\n$/);
    expect(lines[10]).toMatch(/ 100% 100\.0 MB\/100\.0 MB .* ETA 0s\n$/);
  });

  test('on a terminal: redrawn in place, finished with a newline', () => {
    const { lines, out } = sink(true);
    const p = new Progress('download', 10, 4, out);
    p.add(6);
    p.finish();
    expect(lines[0]).toMatch(/^\r.* 100% /);
    expect(lines.at(-1)).toMatch(/^\r.*\x1b\[K\n$/);
  });
});
