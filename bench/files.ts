import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ROOT, startHubProcess, type RunningHub } from '../local/hub-process';

/**
 * Files through the CLI versus raw presigned transfers to the same emulator:
 * the hub only hands out URLs, so the CLI should move bytes as fast as raw HTTP.
 * Raw is what a script would do with the URLs: parts (uploads) and ranges
 * (downloads) of the CLI's size, CONCURRENCY at a time, from a warm process.
 * The CLI is timed from spawn to exit ("end to end"), so its process start counts.
 */
const CONCURRENCY = 4;
/** The CLI's download range (cli/files/transfer.ts). */
const RANGE = 8 * 1024 * 1024;
const load = () =>
  `load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;

async function writeRandomFile(path: string, bytes: number) {
  const handle = await open(path, 'w');
  const chunk = randomBytes(8 * 1024 * 1024);
  for (let written = 0; written < bytes; written += chunk.length)
    await handle.write(chunk, 0, Math.min(chunk.length, bytes - written));
  await handle.close();
}

async function rawUpload(hub: RunningHub, path: string, size: number): Promise<string> {
  const created = await hub.api('POST', '/v1/files', {
    fileName: 'raw.bin',
    contentType: 'application/octet-stream',
    size,
  });
  const { partSize, parts } = created.body.upload as {
    partSize: number;
    parts: Array<{ partNumber: number; url: string }>;
  };
  const handle = await open(path, 'r');
  const queue = [...parts];
  const etags: Array<{ partNumber: number; etag: string }> = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      const buffer = Buffer.allocUnsafe(partSize);
      for (let p = queue.shift(); p; p = queue.shift()) {
        const { bytesRead } = await handle.read(buffer, 0, partSize, (p.partNumber - 1) * partSize);
        const res = await fetch(p.url, { method: 'PUT', body: buffer.subarray(0, bytesRead) });
        if (!res.ok) throw new Error(`raw part ${p.partNumber}: HTTP ${res.status}`);
        etags.push({ partNumber: p.partNumber, etag: res.headers.get('etag')! });
      }
    }),
  );
  await handle.close();
  await hub.api('POST', `/v1/files/${created.body.fileId}/complete`, { parts: etags });
  return created.body.fileId;
}

async function rawDownload(hub: RunningHub, fileId: string, out: string, size: number) {
  const { body } = await hub.api('GET', `/v1/files/${fileId}`);
  if (size <= RANGE) {
    const res = await fetch(body.downloadUrl);
    if (!res.ok) throw new Error(`raw download: HTTP ${res.status}`);
    await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), createWriteStream(out));
    return;
  }
  const handle = await open(out, 'w');
  const count = Math.ceil(size / RANGE);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      const buffer = Buffer.allocUnsafe(RANGE);
      for (let i = next++; i < count; i = next++) {
        const start = i * RANGE;
        const res = await fetch(body.downloadUrl, {
          headers: { range: `bytes=${start}-${Math.min(size, start + RANGE) - 1}` },
        });
        if (res.status !== 206) throw new Error(`raw range ${i}: HTTP ${res.status}`);
        let got = 0;
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer.set(chunk, got);
          got += chunk.length;
        }
        await handle.write(buffer, 0, got, start);
      }
    }),
  );
  await handle.close();
}

function cli(
  hub: RunningHub,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ stdout: string; ms: number; commandMs: number; rssMb: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const p = spawn(process.execPath, [join(ROOT, 'cli/crm-bridge.cjs'), ...args, '--local'], {
      env: { ...process.env, ...env, CRM_BRIDGE_LOCAL_STATE: hub.statePath, CRM_BRIDGE_REPORT_RSS: '1' },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(stderr));
      const m = /maxRSS_KB=(\d+) command_ms=(\d+)/.exec(stderr);
      resolve({
        stdout: stdout.trim(),
        ms: performance.now() - start,
        commandMs: Number(m?.[2]),
        rssMb: Number(m?.[1]) / 1024,
      });
    });
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

/** Rounds of raw and CLI, alternating; the medians and every round's ratio are printed. */
const ROUNDS = Number(process.env.BENCH_FILE_ROUNDS ?? 5);
/** Issue 15's targets. */
const MIN_RATIO = 0.95;
const MAX_TINY_RSS_MB = 100;

export async function runFilesBench(sizeMb = 200): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-bridge-bench-files-'));
  const path = join(dir, 'big.bin');
  const size = sizeMb * 1024 * 1024;
  await writeRandomFile(path, size);
  const hub = await startHubProcess({ POWERTOOLS_LOG_LEVEL: 'ERROR' });
  try {
    const mbps = (ms: number) => (sizeMb / (ms / 1000)).toFixed(0);
    console.log(
      `\n== Files: ${sizeMb} MB, ${CONCURRENCY} parts/ranges in flight, to the local S3 emulator (${load()})`,
    );
    // Warm-up (JIT, connections) so neither side pays it.
    await rawUpload(hub, path, size);
    // Raw and CLI alternate for several rounds: on a small shared machine one
    // transfer's time varies by tens of percent, so every round is printed.
    const rounds: Array<{
      raw: number;
      up: Awaited<ReturnType<typeof cli>>;
      rawDown: number;
      down: Awaited<ReturnType<typeof cli>>;
    }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      const raw = await timed(() => rawUpload(hub, path, size));
      const up = await cli(hub, ['files', 'upload', path, '--concurrency', String(CONCURRENCY)], {
        CRM_BRIDGE_UPLOAD_STATE_DIR: join(dir, `state-${r}`),
      });
      const rawDown = await timed(() => rawDownload(hub, raw.value, join(dir, 'raw-out.bin'), size));
      const down = await cli(hub, ['files', 'download', up.stdout, '--out', join(dir, 'cli-out.bin')]);
      if (statSync(join(dir, 'cli-out.bin')).size !== size) throw new Error('CLI download has the wrong size');
      rounds.push({ raw: raw.ms, up, rawDown: rawDown.ms, down });
      console.log(
        `round ${r + 1}: upload raw ${raw.ms.toFixed(0)} ms, CLI ${up.ms.toFixed(0)} ms (in the command ${up.commandMs} ms), ratio ${(raw.ms / up.ms).toFixed(2)}; ` +
          `download raw ${rawDown.ms.toFixed(0)} ms, CLI ${down.ms.toFixed(0)} ms (${down.commandMs} ms), ratio ${(rawDown.ms / down.ms).toFixed(2)}  (${load()})`,
      );
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;
    const verdict = (ratio: number) => (ratio >= MIN_RATIO ? 'ok' : 'MISSED');
    const raw = med(rounds.map((r) => r.raw));
    const upMs = med(rounds.map((r) => r.up.ms));
    const upCmd = med(rounds.map((r) => r.up.commandMs));
    const rawDown = med(rounds.map((r) => r.rawDown));
    const downMs = med(rounds.map((r) => r.down.ms));
    const downCmd = med(rounds.map((r) => r.down.commandMs));
    const upRatio = med(rounds.map((r) => r.raw / r.up.ms));
    const downRatio = med(rounds.map((r) => r.rawDown / r.down.ms));
    console.log(`medians of ${ROUNDS} alternating rounds; the rounds' range in brackets (${load()})`);
    console.log(
      `upload    raw ${mbps(raw)} MB/s | CLI ${mbps(upMs)} MB/s end to end, ${mbps(upCmd)} MB/s in the command | ratio ${upRatio.toFixed(2)} end to end [${range(rounds.map((r) => r.raw / r.up.ms))}] ` +
        `(target >= ${MIN_RATIO} ${verdict(upRatio)}), ${(raw / upCmd).toFixed(2)} excluding process start`,
    );
    console.log(
      `download  raw ${mbps(rawDown)} MB/s | CLI ${mbps(downMs)} MB/s end to end, ${mbps(downCmd)} MB/s in the command | ratio ${downRatio.toFixed(2)} end to end [${range(rounds.map((r) => r.rawDown / r.down.ms))}] ` +
        `(target >= ${MIN_RATIO} ${verdict(downRatio)}), ${(rawDown / downCmd).toFixed(2)} excluding process start`,
    );
    const up = { rssMb: Math.max(...rounds.map((r) => r.up.rssMb)) };
    const down = { rssMb: Math.max(...rounds.map((r) => r.down.rssMb)) };
    // The same command on a 1-byte file: what the CLI needs before any transfer (Node, the CLI, fetch).
    // The CLI reports its own peak (VmHWM): getrusage's maxRSS would include this process's memory, inherited at spawn.
    writeFileSync(join(dir, 'tiny.txt'), 'x');
    const tinies: Array<Awaited<ReturnType<typeof cli>>> = [];
    for (let i = 0; i < 3; i++)
      tinies.push(
        await cli(hub, ['files', 'upload', join(dir, 'tiny.txt')], {
          CRM_BRIDGE_UPLOAD_STATE_DIR: join(dir, 'state-tiny'),
        }),
      );
    const tinyRss = Math.max(...tinies.map((t) => t.rssMb));
    console.log(
      `CLI peak RSS  a 1-byte upload ${tinyRss.toFixed(0)} MB (max of 3; target <= ${MAX_TINY_RSS_MB} MB ${tinyRss <= MAX_TINY_RSS_MB ? 'ok' : 'MISSED'}), end to end ${med(tinies.map((t) => t.ms)).toFixed(0)} ms; ` +
        `${sizeMb} MB upload ${up.rssMb.toFixed(0)} MB, download ${down.rssMb.toFixed(0)} MB (streamed in parts, never held whole)`,
    );
  } finally {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Standalone: node --import tsx bench/files.ts [MB]   (npm run bench runs it too)
if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  runFilesBench(Number(process.argv[2] ?? 200)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
