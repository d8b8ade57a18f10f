import { parseConnector, type Connector } from '../../lambdas/connectors/schema';
import type { SecretSource } from '../../lambdas/connectors/secret-source';
import type { ConnectorSource } from '../../lambdas/domain/connector-source';
import type { Job, JobDelivery, JobError } from '../../lambdas/domain/job';
import type { JobDataStore } from '../../lambdas/domain/job-data';
import type { JobQueuePort } from '../../lambdas/domain/job-queue';
import {
  unlessConflict,
  type IdempotencyClaim,
  type JobListQuery,
  type JobRepository,
  type RetryOutcome,
  type StartRunOutcome,
} from '../../lambdas/domain/job-repository';
import { MAX_JOB_HISTORY } from '../../lambdas/domain/job';
import type { ResultEnvelope } from '../../lambdas/connectors/types';
import { InvalidConnectorError, WriteConflictError } from '../../lambdas/shared/errors';

/**
 * In-memory implementations of the domain's ports, for unit tests of the
 * domain without emulators. They keep the ports' contracts as the adapters do
 * (conditional transitions, WriteConflictError on a lost condition, leases),
 * without the storage details (no claim check: values stay in the record).
 * The adapters themselves are tested against the emulators (test/integration).
 */

type Method = keyof JobRepository;

/** Jobs and idempotency keys in maps. `faults` makes the next calls of a method reject (a store that is down). */
export class MemoryJobRepository implements JobRepository {
  readonly jobs = new Map<string, Job>();
  readonly keys = new Map<string, { jobId: string; requestHash: string }>();
  /** Errors the next calls of a method reject with, in order. */
  readonly faults = new Map<Method, unknown[]>();
  /** Calls per method, in order (what the domain asked of its store). */
  readonly calls: Method[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Makes the next `times` calls of `method` reject with `error`. */
  failNext(method: Method, error: unknown, times = 1): this {
    this.faults.set(method, [...(this.faults.get(method) ?? []), ...Array.from({ length: times }, () => error)]);
    return this;
  }

  private async enter<T>(method: Method, body: () => T): Promise<T> {
    this.calls.push(method);
    const queued = this.faults.get(method);
    if (queued?.length) throw queued.shift();
    return structuredClone(body());
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private conflict(): never {
    throw new WriteConflictError('The job record is not in the state this write requires');
  }

  private existing(jobId: string): Job {
    return this.jobs.get(jobId) ?? this.conflict();
  }

  create(job: Job): Promise<void> {
    return this.enter('create', () => {
      if (this.jobs.has(job.jobId)) this.conflict();
      this.jobs.set(job.jobId, structuredClone(job));
    });
  }

  get(jobId: string): Promise<Job | undefined> {
    return this.enter('get', () => this.jobs.get(jobId));
  }

  private start(job: Job, leaseUntil: Date): Job {
    const now = this.iso();
    Object.assign(job, { status: 'RUNNING', updatedAt: now, leaseUntil: leaseUntil.toISOString(), callStartedAt: now });
    delete job.nextAttemptAt;
    delete job.waiting;
    return job;
  }

  startRun(jobId: string, leaseUntil: Date): Promise<StartRunOutcome> {
    return this.enter('startRun', (): StartRunOutcome => {
      const job = this.jobs.get(jobId);
      if (!job) return { missing: true };
      if (job.status === 'QUEUED') return { job: this.start(job, leaseUntil) };
      if (job.status === 'SUCCEEDED' || job.status === 'FAILED') return { ended: job };
      const leaseOver = job.leaseUntil === undefined || Date.parse(job.leaseUntil) < this.now();
      if (leaseOver && job.callStartedAt !== undefined) return { interrupted: job as Job & { callStartedAt: string } };
      if (leaseOver) return { job: this.start(job, leaseUntil) };
      return { busy: job };
    });
  }

  releaseRun(jobId: string): Promise<void> {
    return this.enter('releaseRun', () => {
      const job = this.jobs.get(jobId);
      if (job?.status !== 'RUNNING') return;
      Object.assign(job, { status: 'QUEUED', updatedAt: this.iso() });
      delete job.leaseUntil;
      delete job.callStartedAt;
    });
  }

  recordDeferredRetry(jobId: string, attempts: number, lastError: JobError, nextAttemptAt: Date): Promise<void> {
    return this.enter('recordDeferredRetry', () => {
      const job = this.existing(jobId);
      Object.assign(job, {
        status: 'QUEUED',
        attempts,
        error: lastError,
        nextAttemptAt: nextAttemptAt.toISOString(),
        updatedAt: this.iso(),
      });
      delete job.leaseUntil;
      delete job.callStartedAt;
      delete job.waiting;
    });
  }

  recordWait(
    jobId: string,
    attempts: number,
    waiting: NonNullable<Job['waiting']>,
  ): Promise<{ waits: number; waitingSince: string }> {
    return this.enter('recordWait', () => {
      const job = this.existing(jobId);
      if (job.status !== 'RUNNING') this.conflict();
      const now = this.iso();
      Object.assign(job, {
        status: 'QUEUED',
        attempts,
        waiting,
        waitingSince: job.waitingSince ?? now,
        updatedAt: now,
        waits: (job.waits ?? 0) + 1,
      });
      delete job.leaseUntil;
      delete job.callStartedAt;
      return { waits: job.waits!, waitingSince: job.waitingSince! };
    });
  }

  private finish(
    jobId: string,
    status: 'SUCCEEDED' | 'FAILED',
    attempts: number,
    outcome: { result: ResultEnvelope } | { error: JobError },
    delivery?: JobDelivery,
    onlyRun?: { started: string },
  ): Job | undefined {
    const job = this.existing(jobId);
    if (onlyRun && job.callStartedAt !== onlyRun.started) this.conflict();
    for (const field of [
      'result',
      'resultRef',
      'error',
      'nextAttemptAt',
      'leaseUntil',
      'callStartedAt',
      'waiting',
      'waitingSince',
      'waits',
    ] as const)
      delete job[field];
    Object.assign(job, { status, attempts, ...outcome, updatedAt: this.iso(), ...(delivery && { delivery }) });
    return delivery ? job : undefined;
  }

  succeed(jobId: string, attempts: number, result: ResultEnvelope, delivery?: JobDelivery): Promise<Job | undefined> {
    return this.enter('succeed', () => this.finish(jobId, 'SUCCEEDED', attempts, { result }, delivery));
  }

  fail(jobId: string, attempts: number, error: JobError, delivery?: JobDelivery): Promise<Job | undefined> {
    return this.enter('fail', () => this.finish(jobId, 'FAILED', attempts, { error }, delivery));
  }

  failInterrupted(
    job: Job & { callStartedAt: string },
    attempts: number,
    error: JobError,
    delivery?: JobDelivery,
  ): Promise<Job | undefined | false> {
    return unlessConflict(
      () =>
        this.enter('failInterrupted', () =>
          this.finish(job.jobId, 'FAILED', attempts, { error }, delivery, { started: job.callStartedAt }),
        ),
      () => false as const,
    );
  }

  setDelivery(jobId: string, delivery: JobDelivery): Promise<void> {
    return this.enter('setDelivery', () => {
      Object.assign(this.existing(jobId), { delivery, updatedAt: this.iso() });
    });
  }

  list(query: JobListQuery): Promise<{ jobs: Job[]; nextKey?: Record<string, string> }> {
    return this.enter('list', () => {
      const all = [...this.jobs.values()]
        .filter(
          (j) =>
            (query.connectorId === undefined || j.connectorId === query.connectorId) &&
            (query.status === undefined || j.status === query.status),
        )
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.jobId.localeCompare(a.jobId));
      const from = query.startKey ? all.findIndex((j) => `JOB#${j.jobId}` === query.startKey!.pk) + 1 : 0;
      const jobs = all.slice(from, from + query.limit);
      const last = jobs[jobs.length - 1];
      const more = last !== undefined && from + jobs.length < all.length;
      const partition: Record<string, string> =
        query.connectorId !== undefined ? { connectorId: last?.connectorId ?? '' } : { status: last?.status ?? '' };
      return {
        jobs,
        ...(more && { nextKey: { pk: `JOB#${last.jobId}`, jobCreatedAt: last.createdAt, ...partition } }),
      };
    });
  }

  retry(jobId: string): Promise<RetryOutcome> {
    return this.enter('retry', (): RetryOutcome => {
      const previous = this.jobs.get(jobId);
      if (!previous) return { missing: true };
      if (previous.status !== 'FAILED' || previous.delivery?.status === 'PENDING') return { notRetryable: previous };
      const before = structuredClone(previous);
      const history = [
        ...(previous.history ?? []),
        { attempts: previous.attempts, ...(previous.error && { error: previous.error }), endedAt: previous.updatedAt },
      ].slice(-MAX_JOB_HISTORY);
      for (const field of [
        'error',
        'result',
        'resultRef',
        'delivery',
        'nextAttemptAt',
        'leaseUntil',
        'callStartedAt',
      ] as const)
        delete previous[field];
      Object.assign(previous, { status: 'QUEUED', attempts: 0, history, updatedAt: this.iso() });
      return { job: previous, previous: before };
    });
  }

  undoRetry(retried: Job, previous: Job): Promise<void> {
    return this.enter('undoRetry', () => {
      const job = this.jobs.get(retried.jobId);
      if (job?.status !== 'QUEUED' || job.updatedAt !== retried.updatedAt) return;
      this.jobs.set(retried.jobId, {
        ...job,
        status: 'FAILED',
        updatedAt: previous.updatedAt,
        attempts: previous.attempts,
        error: previous.error,
        delivery: previous.delivery,
        history: previous.history,
      });
    });
  }

  claimIdempotencyKey(key: string, requestHash: string, jobId: string): Promise<IdempotencyClaim> {
    return this.enter('claimIdempotencyKey', (): IdempotencyClaim => {
      const held = this.keys.get(key);
      if (held) return { claimed: false, ...held };
      this.keys.set(key, { jobId, requestHash });
      return { claimed: true };
    });
  }

  releaseIdempotencyKey(key: string): Promise<void> {
    return this.enter('releaseIdempotencyKey', () => {
      this.keys.delete(key);
    });
  }
}

/** The queue as a list of what was sent and deferred. `failing` makes sends reject (the queue is down). */
export class MemoryJobQueue implements JobQueuePort {
  readonly sent: Array<
    | { kind: 'job'; jobId: string; delayMs?: number }
    | { kind: 'fileLink'; fileId: string }
    | { kind: 'fileMigration'; migrationId: string; seq: number; delaySeconds?: number }
  > = [];
  readonly deferred: Array<{ receiptHandle: string; delayMs: number }> = [];
  failing: Error | undefined = undefined;

  async enqueue(jobId: string, delayMs?: number): Promise<void> {
    if (this.failing !== undefined) throw this.failing;
    this.sent.push({ kind: 'job', jobId, ...(delayMs !== undefined && { delayMs }) });
  }

  async enqueueFileLink(fileId: string): Promise<void> {
    if (this.failing !== undefined) throw this.failing;
    this.sent.push({ kind: 'fileLink', fileId });
  }

  async enqueueFileMigration(migrationId: string, seq: number, delaySeconds?: number): Promise<void> {
    if (this.failing !== undefined) throw this.failing;
    this.sent.push({ kind: 'fileMigration', migrationId, seq, ...(delaySeconds !== undefined && { delaySeconds }) });
  }

  async deferMessage(receiptHandle: string, delayMs: number): Promise<void> {
    this.deferred.push({ receiptHandle, delayMs });
  }
}

/** Connector rows, read through the same schema as the DynamoDB adapter (an invalid row rejects with InvalidConnectorError). */
export class MemoryConnectorSource implements ConnectorSource {
  private readonly rows = new Map<string, Record<string, unknown>>();

  constructor(rows: Array<Record<string, unknown>> = []) {
    for (const row of rows) this.put(row);
  }

  put(row: Record<string, unknown>): void {
    this.rows.set(String(row.connectorId), structuredClone(row));
  }

  delete(connectorId: string): void {
    this.rows.delete(connectorId);
  }

  async get(connectorId: string): Promise<Connector | undefined> {
    const row = this.rows.get(connectorId);
    if (!row) return undefined;
    const parsed = parseConnector(structuredClone(row), { targets: 'skip' });
    if (!parsed.ok) throw new InvalidConnectorError(connectorId, parsed.errors.join('; '));
    return parsed.connector;
  }
}

/** Secrets by `connectorId/name`. */
export class MemorySecretSource implements SecretSource {
  constructor(private readonly values: Record<string, string> = {}) {}

  async get(connectorId: string, name: string): Promise<string> {
    const value = this.values[`${connectorId}/${name}`];
    if (value === undefined) throw new Error(`No secret ${connectorId}/${name} in this test`);
    return value;
  }
}

/** Job data objects by key. */
export class MemoryJobDataStore implements JobDataStore {
  readonly objects = new Map<string, string>();

  async put(key: string, body: string): Promise<void> {
    this.objects.set(key, body);
  }

  async get(key: string): Promise<string> {
    const body = this.objects.get(key);
    if (body === undefined) throw new Error(`No job data object ${key}`);
    return body;
  }
}
