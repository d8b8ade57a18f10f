import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { apiOk, apiOptions, apiTarget, type ApiOptions } from './api-client';
import type { UploadOptions } from './files/transfer';

/**
 * `crm-bridge files ...`: commander wiring only. The transfer code loads with the
 * command that needs it (upload, download), not at every start of the CLI.
 */
// require, not import(): the launcher's tsx hook (tsx/cjs) serves require only.
const loadTransfer = (): typeof import('./files/transfer') => require('./files/transfer');

const started = performance.now();

/**
 * Peak RSS of this process in KB. On Linux from /proc (VmHWM): getrusage's maxRSS also
 * counts the parent's memory, which a spawned process inherits until it execs node.
 */
function peakRssKb(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (hwm) return Number(hwm);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

function reportRss(): void {
  // For the benchmark: peak memory (files go in parts, so it stays flat whatever the size) and time in the command.
  if (process.env.CRM_BRIDGE_REPORT_RSS === '1')
    process.stderr.write(`maxRSS_KB=${peakRssKb()} command_ms=${Math.round(performance.now() - started)}\n`);
}

export function registerFileCommands(program: Command): void {
  const cmd = program
    .command('files')
    .description('Upload and download files straight to and from S3 (presigned URLs)');

  apiOptions(cmd.command('upload').argument('<path>'))
    .description('Upload a file in parallel parts, with progress; an interrupted upload resumes when run again')
    .option('--record-id <id>', 'CRM record the file belongs to')
    .option(
      '--link <connectorId>',
      'create a link record on the Salesforce record once uploaded, through this salesforce connector (needs --record-id)',
    )
    .option('--content-type <type>', 'MIME type (default: from the extension)')
    .option('--concurrency <n>', 'parts uploaded at once', '4')
    .option('--abort', 'clean up an interrupted upload of this file instead')
    .action(async (path: string, opts: UploadOptions) => {
      const fileId = await loadTransfer().uploadFile(path, opts);
      if (fileId && !opts.abort) console.log(fileId);
      reportRss();
    });

  apiOptions(cmd.command('download').argument('<fileId>'))
    .description('Download a file (streamed to disk, with progress)')
    .option('--out <path>', 'where to write it (default: its file name)')
    .action(async (fileId: string, opts: ApiOptions & { out?: string }) => {
      const out = await loadTransfer().downloadFile(fileId, opts);
      process.stderr.write(`saved ${out}\n`);
      reportRss();
    });

  apiOptions(cmd.command('list'))
    .usage('--record-id <id> [options]')
    .description('List the files of a CRM record')
    .requiredOption('--record-id <id>', 'CRM record id (required)')
    .action(async (opts: ApiOptions & { recordId: string }) => {
      const t = await apiTarget(opts);
      let token: string | undefined;
      do {
        const page = await apiOk<{
          files: Array<{
            fileId: string;
            fileName: string;
            size: number;
            status: string;
            createdAt: string;
            link?: { status: string };
          }>;
          nextToken?: string;
        }>(
          t,
          'GET',
          `/v1/files?recordId=${encodeURIComponent(opts.recordId)}&limit=100${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`,
        );
        // Columns: id, status, size, created, link status ("-" without a link), name (last: it may hold spaces).
        for (const f of page.files)
          console.log(
            `${f.fileId}\t${f.status}\t${f.size}\t${f.createdAt}\t${f.link ? `link:${f.link.status}` : '-'}\t${f.fileName}`,
          );
        token = page.nextToken;
      } while (token);
    });

  apiOptions(cmd.command('delete').argument('<fileId>'))
    .description('Delete a file and its record')
    .action(async (fileId: string, opts: ApiOptions) => {
      await apiOk(await apiTarget(opts), 'DELETE', `/v1/files/${encodeURIComponent(fileId)}`);
      process.stderr.write(`deleted ${fileId}\n`);
    });
}
