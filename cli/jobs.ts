import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { apiOk, apiOptions, apiTarget, type ApiOptions, type ApiTarget } from './api-client';
import { CliError } from './target';

/** Jobs through the hub's HTTP API (GET /v1/jobs, GET /v1/jobs/{id}, POST /v1/jobs/{id}/retry), local or deployed like `files`. */
interface ListedJob {
  jobId: string;
  connectorId: string;
  operation: string;
  status: string;
  attempts: number;
  createdAt: string;
  error?: { code: string };
}

const STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED'];

function positiveInt(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${what} must be a whole number of at least 1`, 2);
  return n;
}

/** Pages through GET /v1/jobs until `max` jobs (or the end). */
async function* listJobs(
  t: ApiTarget,
  filter: { connector?: string; status?: string },
  max = Infinity,
): AsyncGenerator<ListedJob> {
  let token: string | undefined;
  let seen = 0;
  do {
    const q = new URLSearchParams();
    if (filter.connector) q.set('connectorId', filter.connector);
    if (filter.status) q.set('status', filter.status);
    q.set('limit', String(Math.min(100, max - seen)));
    if (token) q.set('nextToken', token);
    const page = await apiOk<{ jobs: ListedJob[]; nextToken?: string }>(t, 'GET', `/v1/jobs?${q.toString()}`);
    for (const job of page.jobs) {
      yield job;
      seen += 1;
      if (seen >= max) return;
    }
    token = page.nextToken;
  } while (token);
}

/** Asks on the terminal; without one (a pipe, CI), refuses: --yes is how a script says yes. */
async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY)
    throw new CliError('Not asking for confirmation without a terminal: pass --yes to retry without asking', 2);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export function registerJobCommands(program: Command): void {
  const cmd = program.command('jobs').description('Find jobs and run failed ones again');

  apiOptions(cmd.command('list'))
    .description('List jobs newest first, by connector and/or status (one of them is required)')
    .option('--connector <id>', 'jobs of this connector')
    .option('--status <status>', `jobs in this status (${STATUSES.join(', ')})`)
    .option('--limit <n>', 'print at most this many jobs', '50')
    .action(async (opts: ApiOptions & { connector?: string; status?: string; limit: string }) => {
      if (!opts.connector && !opts.status) throw new CliError('Give --connector, --status or both', 2);
      const status = opts.status?.toUpperCase();
      if (status !== undefined && !STATUSES.includes(status))
        throw new CliError(`--status must be one of ${STATUSES.join(', ')}`, 2);
      const max = positiveInt(opts.limit, '--limit');
      const t = await apiTarget(opts);
      // Columns: id, status, attempts, connector, operation, created, error code ("-" without one).
      for await (const j of listJobs(t, { connector: opts.connector, status }, max)) {
        console.log(
          `${j.jobId}\t${j.status}\t${j.attempts}\t${j.connectorId}\t${j.operation}\t${j.createdAt}\t${j.error?.code ?? '-'}`,
        );
      }
    });

  apiOptions(cmd.command('get').argument('<jobId>'))
    .description('Print a job (status, attempts, result or error, history) as JSON')
    .action(async (jobId: string, opts: ApiOptions) => {
      console.log(
        JSON.stringify(await apiOk(await apiTarget(opts), 'GET', `/v1/jobs/${encodeURIComponent(jobId)}`), null, 2),
      );
    });

  apiOptions(cmd.command('retry').argument('[jobId]'))
    .usage('<jobId> | --all-failed --connector <id> [--yes] [options]')
    .description('Run a FAILED job again (fresh attempt budget, history kept), or every FAILED job of a connector')
    .option('--all-failed', 'retry every FAILED job of --connector')
    .option('--connector <id>', 'with --all-failed: the connector')
    .option('--yes', 'with --all-failed: do not ask for confirmation')
    .action(
      async (
        jobId: string | undefined,
        opts: ApiOptions & { allFailed?: boolean; connector?: string; yes?: boolean },
      ) => {
        if (jobId !== undefined && opts.allFailed) throw new CliError('Give a job id or --all-failed, not both', 2);
        const t = await apiTarget(opts);
        if (jobId !== undefined) {
          const res = await apiOk<{ jobId: string; status: string }>(
            t,
            'POST',
            `/v1/jobs/${encodeURIComponent(jobId)}/retry`,
          );
          console.log(`${res.jobId}\t${res.status}`);
          return;
        }
        if (!opts.allFailed || !opts.connector)
          throw new CliError('Give a job id, or --all-failed --connector <id>', 2);
        const failed: string[] = [];
        for await (const j of listJobs(t, { connector: opts.connector, status: 'FAILED' })) failed.push(j.jobId);
        process.stderr.write(`${failed.length} FAILED job(s) of connector ${opts.connector}\n`);
        if (failed.length === 0) return;
        if (!opts.yes && !(await confirm(`Retry ${failed.length} job(s)?`))) throw new CliError('Nothing retried', 1);
        let retried = 0;
        const skipped: string[] = [];
        for (const id of failed) {
          try {
            await apiOk(t, 'POST', `/v1/jobs/${encodeURIComponent(id)}/retry`);
            console.log(`${id}\tQUEUED`);
            retried += 1;
          } catch (err) {
            // Retried or changed since it was listed (409), or expired (404): say so and go on.
            if (!(err instanceof CliError) || !/^(JOB_NOT_RETRYABLE|JOB_NOT_FOUND):/.test(err.message)) throw err;
            skipped.push(`${id}: ${err.message}`);
          }
        }
        for (const s of skipped) process.stderr.write(`skipped ${s}\n`);
        process.stderr.write(`retried ${retried} of ${failed.length}\n`);
      },
    );
}
