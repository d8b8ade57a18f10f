import type { Command } from 'commander';
import { apiOk, apiOptions, apiTarget, type ApiOptions } from './api-client';
import type { migrationView } from '../lambdas/files/migration';
import { CliError } from './target';

/**
 * `crm-bridge files migrate`: moves a Salesforce org's existing Files into the
 * hub. The command only submits the migration (POST /v1/files/migrations) and
 * follows it: the hub's worker does the work in queued batches, so closing the
 * terminal stops nothing (`files migration <id>` shows it later).
 */
/** A migration as GET /v1/files/migrations/{id} returns it. */
type MigrationView = ReturnType<typeof migrationView>;

interface AuditRow {
  contentVersionId: string;
  title: string;
  size: number;
  checksum?: string;
  fileIds: string[];
  status: string;
  reason?: { code: string; message: string };
}

type MigrateOptions = ApiOptions & {
  connector: string;
  where: string;
  dryRun?: boolean;
  deleteAfterCopy?: boolean;
  wait: boolean;
  interval: string;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

function progressLine(m: MigrationView): string {
  const c = m.counts;
  if (m.dryRun)
    return `${m.status}: ${c.considered} looked at, ${c.wouldMove} would move (${formatBytes(c.bytes)}), ${c.skipped} skipped`;
  return (
    `${m.status} ${m.phase === 'DELETE' ? '(deleting copied documents) ' : ''}: ${c.considered} looked at, ${c.moved} moved (${formatBytes(c.bytes)}), ` +
    `${c.skipped} skipped, ${c.failed} failed${m.deleteAfterCopy ? `, ${c.deleted} deleted (${formatBytes(c.bytesFreed)} freed)` : ''}`
  );
}

/** The audit rows, one per line: status, ContentVersion id, size, Salesforce checksum, file ids, reason, title (last: it may hold spaces). */
async function printAudit(t: Awaited<ReturnType<typeof apiTarget>>, migrationId: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await apiOk<{ files: AuditRow[]; nextToken?: string }>(
      t,
      'GET',
      `/v1/files/migrations/${encodeURIComponent(migrationId)}/files?limit=100${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`,
    );
    for (const r of page.files) {
      const reason = r.reason ? `${r.reason.code}: ${r.reason.message}` : '-';
      console.log(
        [r.status, r.contentVersionId, r.size, r.checksum ?? '-', r.fileIds.join(',') || '-', reason, r.title].join(
          '\t',
        ),
      );
    }
    token = page.nextToken;
  } while (token);
}

function summary(m: MigrationView): string {
  const c = m.counts;
  if (m.dryRun) {
    return `dry run: ${c.wouldMove} file(s) would move, ${formatBytes(c.bytes)} (${c.bytes} bytes); --delete-after-copy would free ${formatBytes(c.bytesFreed)} (${c.bytesFreed} bytes) of latest versions; ${c.skipped} skipped`;
  }
  return `${c.moved} moved (${c.bytes} bytes, ${c.fileRecords} file records), ${c.skipped} skipped, ${c.failed} failed, ${c.deleted} deleted (${c.bytesFreed} bytes freed)`;
}

async function follow(
  t: Awaited<ReturnType<typeof apiTarget>>,
  migrationId: string,
  intervalMs: number,
): Promise<MigrationView> {
  let last = '';
  for (;;) {
    const m = await apiOk<MigrationView>(t, 'GET', `/v1/files/migrations/${encodeURIComponent(migrationId)}`);
    const line = progressLine(m);
    if (line !== last) process.stderr.write(`${line}\n`);
    last = line;
    if (m.status === 'SUCCEEDED' || m.status === 'FAILED') return m;
    await sleep(intervalMs);
  }
}

async function finish(t: Awaited<ReturnType<typeof apiTarget>>, m: MigrationView): Promise<void> {
  await printAudit(t, m.migrationId);
  process.stderr.write(`${summary(m)}\n`);
  if (m.status === 'FAILED')
    throw new CliError(
      `migration ${m.migrationId} failed: ${m.error ? `${m.error.code}: ${m.error.message}` : 'see the worker logs'}`,
    );
  if (m.counts.failed > 0)
    throw new CliError(
      `${m.counts.failed} file(s) failed (see their rows above); run the same command again to retry them`,
    );
}

/** Adds `migrate` and `migration` to the `files` command (registered after registerFileCommands). */
export function registerFileMigrationCommands(program: Command): void {
  const files = program.commands.find((c) => c.name() === 'files');
  if (!files) throw new Error('registerFileMigrationCommands: register the files commands first');

  apiOptions(files.command('migrate'))
    .usage('--connector <id> --where <condition> [options]')
    .description(
      'Move existing Salesforce Files (latest ContentVersions matching --where) into the hub; runs on the hub, resumable, one audit row per file',
    )
    .requiredOption('--connector <id>', 'salesforce connector (with "fileLink") of the org whose Files move')
    .requiredOption(
      '--where <condition>',
      'SOQL condition on ContentVersion fields, e.g. "ContentSize > 10000000 AND CreatedDate < 2024-01-01T00:00:00Z" (no subqueries, no parent fields)',
    )
    .option('--dry-run', 'list what would move (count, bytes, bytes freed) without copying or deleting')
    .option(
      '--delete-after-copy',
      'delete each ContentDocument (all its versions) once its copy is verified and its link records exist',
    )
    .option('--no-wait', 'print the migration id and return; follow it with "files migration <id>"')
    .option('--interval <seconds>', 'how often to look at its progress', '2')
    .action(async (opts: MigrateOptions) => {
      const interval = Number(opts.interval);
      if (!Number.isFinite(interval) || interval <= 0)
        throw new CliError('--interval must be a positive number of seconds', 2);
      const t = await apiTarget(opts);
      const accepted = await apiOk<{ migrationId: string }>(t, 'POST', '/v1/files/migrations', {
        connectorId: opts.connector,
        where: opts.where,
        dryRun: Boolean(opts.dryRun),
        deleteAfterCopy: Boolean(opts.deleteAfterCopy),
      });
      process.stderr.write(
        `migration ${accepted.migrationId} accepted; it runs on the hub (closing this stops nothing)\n`,
      );
      if (!opts.wait) {
        console.log(accepted.migrationId);
        return;
      }
      await finish(t, await follow(t, accepted.migrationId, interval * 1000));
    });

  apiOptions(files.command('migration').argument('<migrationId>'))
    .description('Show a migration: its progress, then (once it has ended) its audit rows')
    .option('--wait', 'follow it until it ends')
    .option('--interval <seconds>', 'how often to look at its progress with --wait', '2')
    .action(async (migrationId: string, opts: ApiOptions & { wait?: boolean; interval: string }) => {
      const t = await apiTarget(opts);
      const m = opts.wait
        ? await follow(t, migrationId, Math.max(0.1, Number(opts.interval) || 2) * 1000)
        : await apiOk<MigrationView>(t, 'GET', `/v1/files/migrations/${encodeURIComponent(migrationId)}`);
      if (!opts.wait) process.stderr.write(`${progressLine(m)}\n`);
      if (m.status === 'SUCCEEDED' || m.status === 'FAILED') await finish(t, m);
    });
}
