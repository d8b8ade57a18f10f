import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ResultEnvelope } from '../connectors/types';
import { MAX_JOB_HISTORY, type Job, type JobDelivery, type JobError } from '../domain/job';
import {
  unlessConflict,
  type IdempotencyClaim,
  type JobListQuery,
  type JobRepository,
  type RetryOutcome,
  type StartRunOutcome,
} from '../domain/job-repository';
import { JOB_INDEXES, JOB_LIST_SORT_KEY, type JobIndexName } from '../contract/job-indexes';
import { JOBS_TABLE } from '../contract/storage';
import { placeJobData, type jobDataKey, type JobDataStore } from '../domain/job-data';
import { WriteConflictError } from '../shared/errors';

const { partitionKey: PK, timeToLive: TTL } = JOBS_TABLE;
const jobKey = (jobId: string) => ({ [PK]: { S: `JOB#${jobId}` } });
const idempotencyKey = (key: string) => ({ [PK]: { S: `IDEMPOTENCY#${key}` } });
/** Conditions on the item's existence. */
const EXISTS = `attribute_exists(${PK})`;
const IS_NEW = `attribute_not_exists(${PK})`;
// Wrappers keep integers beyond 2^53 from upstream JSON as decimal strings
// (connectors/json.ts), so results hold no unsafe integer. allowImpreciseNumbers
// stays for numbers that are doubles already (1.5e20 from JSON, or a payload).
const values = (v: Record<string, unknown>) =>
  marshall(v, { removeUndefinedValues: true, allowImpreciseNumbers: true });

export interface JobStoreOptions {
  /**
   * Where a payload or result larger than `inlineMaxBytes` is kept (claim
   * check); the item then holds only its key. Without it, every value stays in the item.
   */
  data?: JobDataStore;
  /** @default INLINE_MAX_BYTES (64 KB) */
  inlineMaxBytes?: number;
}

/** A listing with a status filter reads at most this many index pages to fill one page of the answer. */
const MAX_FILTERED_READS = 10;

/** Read numbers back as JS numbers: a large one was stored from a double and has no more precision to lose. */
const read = (item: Record<string, AttributeValue>) => unmarshall(item, { wrapNumbers: (n) => Number(n) });

function toJob(item: Record<string, AttributeValue>): Job {
  const { [PK]: _pk, [TTL]: _exp, [JOB_LIST_SORT_KEY]: _listed, ...job } = read(item);
  return job as Job;
}

/**
 * Jobs and idempotency keys share one table (partition key `pk`), both expiring
 * through the table's TTL attribute `expiresAt` (epoch seconds).
 *
 * It takes the plain DynamoDB client (not the document client) because this is
 * the hot path — three writes per job — and a plain client can reuse its
 * resolved middleware stack (`cacheMiddleware`), which lib-dynamodb's commands cannot.
 */
export class JobStore implements JobRepository {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly tableName: string,
    private readonly ttlDays = 30,
    private readonly now: () => number = Date.now,
    private readonly options: JobStoreOptions = {},
  ) {}

  /** A write whose condition does not hold rejects with the domain's WriteConflictError: the domain knows no DynamoDB. */
  private async conditional<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException)
        throw new WriteConflictError('The job record is not in the state this write requires', { cause: err });
      throw err;
    }
  }

  /** Writes a new item (a job or an idempotency key); WriteConflictError when its key is taken. */
  private putNew(item: Record<string, AttributeValue>) {
    return this.conditional(() =>
      this.db.send(new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: IS_NEW })),
    );
  }

  /** Updates the job's item; WriteConflictError when the update's condition does not hold. */
  private update(jobId: string, input: Omit<UpdateItemCommandInput, 'TableName' | 'Key'>) {
    return this.conditional(() =>
      this.db.send(new UpdateItemCommand({ TableName: this.tableName, Key: jobKey(jobId), ...input })),
    );
  }

  /** The value to write: inline, or (over the limit, with a data store) the key of the object it was put in. */
  private async claimCheck(
    kind: keyof typeof jobDataKey,
    jobId: string,
    value: unknown,
  ): Promise<{ inline: unknown } | { ref: string }> {
    const { data } = this.options;
    if (!data) return { inline: value };
    const placed = placeJobData(kind, jobId, value, this.options.inlineMaxBytes);
    if ('inline' in placed) return placed;
    await data.put(placed.ref, placed.body);
    return { ref: placed.ref };
  }

  /** Reads back what the claim check moved out of the item (`payload`, `result`, or both); the references are dropped. */
  async hydrate(
    job: Job,
    parts: { payload: boolean; result: boolean } = { payload: true, result: true },
  ): Promise<Job> {
    const { payloadRef, resultRef, ...rest } = job;
    const load = async (ref: string | undefined, wanted: boolean) => {
      if (ref === undefined || !wanted) return undefined;
      if (!this.options.data)
        throw new Error(`Job ${job.jobId} keeps data in ${ref}, but this JobStore has no job data store`);
      return { value: JSON.parse(await this.options.data.get(ref)) as unknown };
    };
    const [payload, result] = await Promise.all([load(payloadRef, parts.payload), load(resultRef, parts.result)]);
    const out: Job = rest;
    if (payload) out.payload = payload.value;
    if (result) out.result = result.value as Job['result'];
    return out;
  }

  private expiresAt(): number {
    return Math.floor(this.now() / 1000) + this.ttlDays * 86_400;
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }

  async create(job: Job): Promise<void> {
    const { payload, ...rest } = job;
    // The object is written first: a failed put of the item leaves an orphan that the bucket's lifecycle removes.
    const stored = await this.claimCheck('payload', job.jobId, payload);
    const fields = 'ref' in stored ? { payloadRef: stored.ref } : { payload: stored.inline };
    await this.putNew({
      // jobCreatedAt puts the job (and only jobs) in the list indexes (job-indexes.ts).
      ...values({ ...rest, ...fields, [JOB_LIST_SORT_KEY]: job.createdAt, [TTL]: this.expiresAt() }),
      ...jobKey(job.jobId),
    });
  }

  /** The job with its payload and result (or only the `parts` asked for), wherever they are kept. */
  async get(jobId: string, parts?: { payload: boolean; result: boolean }): Promise<Job | undefined> {
    const job = await this.read(jobId);
    return job && this.hydrate(job, parts);
  }

  /** The item as stored (claim-check references not followed). */
  private async read(jobId: string): Promise<Job | undefined> {
    const { Item } = await this.db.send(
      new GetItemCommand({ TableName: this.tableName, Key: jobKey(jobId), ConsistentRead: true }),
    );
    return Item ? toJob(Item) : undefined;
  }

  /**
   * Moves a job that has not ended to RUNNING and returns it, in one round trip.
   * Returns `ended` for a job that already finished (a redelivered message), `missing` for no job.
   */
  /**
   * Marks the job RUNNING for one worker until `leaseUntil` (its invocation's
   * deadline). A job that is RUNNING under a live lease is `busy`: SQS delivers
   * a message more than once now and then, and a second message must not call
   * the service while the first worker still may.
   *
   * The same update sets `callStartedAt`: from here on the service may have
   * been called. Every transition that records the outcome (or gives the run
   * back before any call) removes it, so a job found RUNNING with it after its
   * lease has passed had a call whose outcome was never recorded (the worker
   * died, or could not write): it is `interrupted`, and must not be called again.
   */
  async startRun(jobId: string, leaseUntil: Date): Promise<StartRunOutcome> {
    const started = await this.start(jobId, leaseUntil, '#s = :queued');
    if (started) return { job: await this.payloadOrRelease(started) };
    // The rare path: find out why (dynalite does not return the item with the failure).
    const job = await this.read(jobId);
    if (!job) return { missing: true };
    if (job.status === 'SUCCEEDED' || job.status === 'FAILED') {
      return {
        ended: job.delivery?.status === 'PENDING' ? await this.hydrate(job, { payload: false, result: true }) : job,
      };
    }
    const leaseOver = job.leaseUntil === undefined || Date.parse(job.leaseUntil) < this.now();
    if (job.status === 'RUNNING' && leaseOver) {
      if (job.callStartedAt !== undefined) return { interrupted: job as Job & { callStartedAt: string } };
      // Started before runs were marked (or had leases): taken over as before.
      const taken = await this.start(
        jobId,
        leaseUntil,
        '#s = :running AND attribute_not_exists(callStartedAt) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
      );
      if (taken) return { job: await this.payloadOrRelease(taken) };
    }
    return { busy: job };
  }

  /** The started job with its payload; if the payload cannot be read, nothing was called: the run is given back. */
  private async payloadOrRelease(job: Job): Promise<Job> {
    try {
      return await this.hydrate(job, { payload: true, result: false });
    } catch (err) {
      await this.releaseRun(job.jobId).catch(() => undefined);
      throw err;
    }
  }

  private start(jobId: string, leaseUntil: Date, condition: string): Promise<Job | undefined> {
    return unlessConflict(
      async () => {
        const { Attributes } = await this.update(jobId, {
          UpdateExpression:
            'SET #s = :running, updatedAt = :now, leaseUntil = :lease, callStartedAt = :now REMOVE nextAttemptAt, waiting',
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: values({
            ':running': 'RUNNING',
            ...(condition.includes(':queued') && { ':queued': 'QUEUED' }),
            ':now': this.isoNow(),
            ':lease': leaseUntil.toISOString(),
          }),
          ReturnValues: 'ALL_NEW',
        });
        return toJob(Attributes!);
      },
      () => undefined,
    );
  }

  /** Gives a run back before anything was called (our own infrastructure failed), so a redelivery may start at once. */
  async releaseRun(jobId: string): Promise<void> {
    await unlessConflict(
      () =>
        this.update(jobId, {
          UpdateExpression: 'SET #s = :queued, updatedAt = :now REMOVE leaseUntil, callStartedAt',
          ConditionExpression: '#s = :running',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: values({ ':queued': 'QUEUED', ':running': 'RUNNING', ':now': this.isoNow() }),
        }),
      () => undefined,
    );
  }

  /** A retry was handed back to the queue: keep the count and the last error visible while it waits. */
  async recordDeferredRetry(jobId: string, attempts: number, lastError: JobError, nextAttemptAt: Date): Promise<void> {
    await this.update(jobId, {
      UpdateExpression:
        'SET #s = :queued, attempts = :a, #e = :e, nextAttemptAt = :next, updatedAt = :now REMOVE leaseUntil, callStartedAt, waiting',
      ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
      ExpressionAttributeValues: values({
        ':queued': 'QUEUED',
        ':a': attempts,
        ':e': lastError,
        ':next': nextAttemptAt.toISOString(),
        ':now': this.isoNow(),
      }),
    });
  }

  /**
   * The job waits for its connector's limits (no call was made in this run):
   * the run is given back (QUEUED, no callStartedAt) so the next delivery
   * starts it normally. Returns how many times it has waited, and since when.
   */
  async recordWait(
    jobId: string,
    attempts: number,
    waiting: NonNullable<Job['waiting']>,
  ): Promise<{ waits: number; waitingSince: string }> {
    const { Attributes } = await this.update(jobId, {
      UpdateExpression:
        'SET #s = :queued, attempts = :a, waiting = :w, waitingSince = if_not_exists(waitingSince, :now), updatedAt = :now ADD waits :one REMOVE leaseUntil, callStartedAt',
      ConditionExpression: '#s = :running',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: values({
        ':queued': 'QUEUED',
        ':running': 'RUNNING',
        ':a': attempts,
        ':w': waiting,
        ':now': this.isoNow(),
        ':one': 1,
      }),
      ReturnValues: 'ALL_NEW',
    });
    const job = toJob(Attributes!);
    return { waits: job.waits ?? 1, waitingSince: job.waitingSince ?? this.isoNow() };
  }

  /**
   * `delivery` (PENDING) is written with the outcome, in the same update, when
   * the outcome is to be delivered; the ended job is then returned for the
   * delivery (only then), with its result (its payload may be left out).
   * A result over the inline limit is put in the job data store first.
   */
  async succeed(
    jobId: string,
    attempts: number,
    result: ResultEnvelope,
    delivery?: JobDelivery,
  ): Promise<Job | undefined> {
    const stored = await this.claimCheck('result', jobId, result);
    const ended =
      'ref' in stored
        ? await this.finish(jobId, 'SUCCEEDED', attempts, 'resultRef', stored.ref, delivery)
        : await this.finish(jobId, 'SUCCEEDED', attempts, 'result', result, delivery);
    if (!ended) return undefined;
    const { resultRef: _ref, payloadRef: _p, ...job } = ended;
    return { ...job, result };
  }

  async fail(jobId: string, attempts: number, error: JobError, delivery?: JobDelivery): Promise<Job | undefined> {
    return this.finish(jobId, 'FAILED', attempts, 'error', error, delivery);
  }

  /**
   * Ends an interrupted run (see startRun) as FAILED, only if it is still that
   * run: of two messages that find it at once, one records it. Returns the job
   * (or undefined without a delivery); `false` when another message did it first.
   */
  failInterrupted(
    job: Job & { callStartedAt: string },
    attempts: number,
    error: JobError,
    delivery?: JobDelivery,
  ): Promise<Job | undefined | false> {
    return unlessConflict(
      () => this.finish(job.jobId, 'FAILED', attempts, 'error', error, delivery, { started: job.callStartedAt }),
      () => false as const,
    );
  }

  private async finish(
    jobId: string,
    status: 'SUCCEEDED' | 'FAILED',
    attempts: number,
    field: 'result' | 'resultRef' | 'error',
    value: unknown,
    delivery?: JobDelivery,
    onlyRun?: { started: string },
  ): Promise<Job | undefined> {
    // The two other outcome fields, which this outcome clears (a tuple, so both are known to exist).
    const others = (
      { result: ['resultRef', 'error'], resultRef: ['result', 'error'], error: ['result', 'resultRef'] } as const
    )[field];
    const { Attributes } = await this.update(jobId, {
      UpdateExpression: `SET #s = :s, attempts = :a, #f = :v, updatedAt = :now${delivery ? ', delivery = :d' : ''} REMOVE #o1, #o2, nextAttemptAt, leaseUntil, callStartedAt, waiting, waitingSince, waits`,
      ConditionExpression: onlyRun ? 'callStartedAt = :started' : EXISTS,
      ExpressionAttributeNames: { '#s': 'status', '#f': field, '#o1': others[0], '#o2': others[1] },
      ExpressionAttributeValues: values({
        ':s': status,
        ':a': attempts,
        ':v': value,
        ':now': this.isoNow(),
        ...(delivery && { ':d': delivery }),
        ...(onlyRun && { ':started': onlyRun.started }),
      }),
      ReturnValues: delivery ? 'ALL_NEW' : 'NONE',
    });
    return Attributes ? toJob(Attributes) : undefined;
  }

  /** Records the delivery's progress; the job's own status and result are untouched. */
  async setDelivery(jobId: string, delivery: JobDelivery): Promise<void> {
    await this.update(jobId, {
      UpdateExpression: 'SET delivery = :d, updatedAt = :now',
      ConditionExpression: EXISTS,
      ExpressionAttributeValues: values({ ':d': delivery, ':now': this.isoNow() }),
    });
  }

  /**
   * Jobs newest first, from the byConnector index (with a status filter when both
   * are given) or the byStatus index. Items hold the list fields only (no payload
   * or result). `nextKey` is the index's LastEvaluatedKey: pass it back as `startKey`.
   */
  async list(query: JobListQuery): Promise<{ jobs: Job[]; nextKey?: Record<string, string> }> {
    const index: JobIndexName = query.connectorId !== undefined ? 'byConnector' : 'byStatus';
    const filtered = index === 'byConnector' && query.status !== undefined;
    const names: Record<string, string> = { '#p': JOB_INDEXES[index].partitionKey };
    const vals: Record<string, unknown> = { ':p': index === 'byConnector' ? query.connectorId : query.status };
    if (filtered) {
      names['#s'] = 'status';
      vals[':s'] = query.status;
    }
    const jobs: Job[] = [];
    let startKey: Record<string, AttributeValue> | undefined = query.startKey && marshall(query.startKey);
    // Limit counts the items read, before the filter: read on until the page is full, the index ends, or the budget is spent.
    for (let reads = 0; reads < (filtered ? MAX_FILTERED_READS : 1); reads += 1) {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index,
          KeyConditionExpression: '#p = :p',
          ...(filtered && { FilterExpression: '#s = :s' }),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: marshall(vals),
          ScanIndexForward: false,
          Limit: query.limit - jobs.length,
          ExclusiveStartKey: startKey,
        }),
      );
      jobs.push(...(page.Items ?? []).map(toJob));
      startKey = page.LastEvaluatedKey;
      if (!startKey || jobs.length >= query.limit) break;
    }
    return { jobs, ...(startKey && { nextKey: unmarshall(startKey) as Record<string, string> }) };
  }

  /**
   * Puts a FAILED job back to QUEUED for a new run with a fresh attempt budget:
   * attempts from 0, no error, result or delivery; the run that ended goes to
   * `history`. Conditional on the job being exactly as read (FAILED, same
   * updatedAt), so of two retries at once only one wins. A failure whose
   * delivery into Salesforce is still pending is not retried under it.
   */
  async retry(jobId: string): Promise<RetryOutcome> {
    const previous = await this.read(jobId);
    if (!previous) return { missing: true };
    if (previous.status !== 'FAILED' || previous.delivery?.status === 'PENDING') return { notRetryable: previous };
    const history = [
      ...(previous.history ?? []),
      { attempts: previous.attempts, ...(previous.error && { error: previous.error }), endedAt: previous.updatedAt },
    ].slice(-MAX_JOB_HISTORY);
    const now = this.isoNow();
    const retried = await unlessConflict(
      async () => {
        await this.update(jobId, {
          UpdateExpression:
            'SET #s = :queued, attempts = :zero, history = :h, updatedAt = :now REMOVE #e, #r, resultRef, delivery, nextAttemptAt, leaseUntil, callStartedAt',
          ConditionExpression: '#s = :failed AND updatedAt = :seen',
          ExpressionAttributeNames: { '#s': 'status', '#e': 'error', '#r': 'result' },
          ExpressionAttributeValues: values({
            ':queued': 'QUEUED',
            ':failed': 'FAILED',
            ':zero': 0,
            ':h': history,
            ':now': now,
            ':seen': previous.updatedAt,
          }),
        });
        return true;
      },
      () => false,
    );
    if (!retried) {
      const current = await this.read(jobId);
      return current ? { notRetryable: current } : { missing: true };
    }
    const {
      error: _e,
      result: _r,
      resultRef: _rr,
      delivery: _d,
      nextAttemptAt: _n,
      leaseUntil: _l,
      callStartedAt: _c,
      ...rest
    } = previous;
    return { job: { ...rest, status: 'QUEUED', attempts: 0, history, updatedAt: now }, previous };
  }

  /** Undoes a retry whose message could not be queued: the job is FAILED again, as it was (if nothing ran it since). */
  async undoRetry(retried: Job, previous: Job): Promise<void> {
    const restore = {
      attempts: previous.attempts,
      error: previous.error,
      delivery: previous.delivery,
      history: previous.history,
    };
    const set = Object.entries(restore).filter(([, v]) => v !== undefined);
    const removed = Object.keys(restore).filter((k) => restore[k as keyof typeof restore] === undefined);
    await unlessConflict(
      () =>
        this.update(retried.jobId, {
          UpdateExpression: `SET #s = :failed, updatedAt = :prev${set.map(([k]) => `, #${k} = :${k}`).join('')}${removed.length ? ` REMOVE ${removed.map((k) => `#${k}`).join(', ')}` : ''}`,
          ConditionExpression: '#s = :queued AND updatedAt = :retried',
          ExpressionAttributeNames: {
            '#s': 'status',
            ...Object.fromEntries(Object.keys(restore).map((k) => [`#${k}`, k])),
          },
          ExpressionAttributeValues: values({
            ':failed': 'FAILED',
            ':queued': 'QUEUED',
            ':prev': previous.updatedAt,
            ':retried': retried.updatedAt,
            ...Object.fromEntries(set.map(([k, v]) => [`:${k}`, v])),
          }),
        }),
      () => undefined,
    );
  }

  /** Atomically reserves an idempotency key for a new job, or returns the job that already holds it. */
  async claimIdempotencyKey(key: string, requestHash: string, jobId: string): Promise<IdempotencyClaim> {
    const claimed = await unlessConflict(
      async () => {
        await this.putNew({ ...values({ jobId, requestHash, [TTL]: this.expiresAt() }), ...idempotencyKey(key) });
        return true;
      },
      () => false,
    );
    if (claimed) return { claimed: true };
    const { Item } = await this.db.send(
      new GetItemCommand({ TableName: this.tableName, Key: idempotencyKey(key), ConsistentRead: true }),
    );
    if (!Item) return this.claimIdempotencyKey(key, requestHash, jobId); // expired in between: claim again
    const held = read(Item);
    return { claimed: false, jobId: String(held.jobId), requestHash: String(held.requestHash) };
  }

  async releaseIdempotencyKey(key: string): Promise<void> {
    await this.db.send(new DeleteItemCommand({ TableName: this.tableName, Key: idempotencyKey(key) }));
  }
}
