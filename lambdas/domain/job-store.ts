import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ResultEnvelope } from '../connectors/types';
import type { Job, JobDelivery, JobError } from './job';

const jobKey = (jobId: string) => ({ pk: { S: `JOB#${jobId}` } });
const idempotencyKey = (key: string) => ({ pk: { S: `IDEMPOTENCY#${key}` } });
// Wrappers keep integers beyond 2^53 from upstream JSON as decimal strings
// (connectors/json.ts), so results hold no unsafe integer. allowImpreciseNumbers
// stays for numbers that are doubles already (1.5e20 from JSON, or a payload).
const values = (v: Record<string, unknown>) => marshall(v, { removeUndefinedValues: true, allowImpreciseNumbers: true });

export type IdempotencyClaim = { claimed: true } | { claimed: false; jobId: string; requestHash: string };

/** Read numbers back as JS numbers: a large one was stored from a double and has no more precision to lose. */
const read = (item: Record<string, AttributeValue>) => unmarshall(item, { wrapNumbers: (n) => Number(n) });

function toJob(item: Record<string, AttributeValue>): Job {
  const { pk: _pk, expiresAt: _exp, ...job } = read(item);
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
export class JobStore {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly tableName: string,
    private readonly ttlDays = 30,
    private readonly now: () => number = Date.now,
  ) {}

  private expiresAt(): number {
    return Math.floor(this.now() / 1000) + this.ttlDays * 86_400;
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }

  async create(job: Job): Promise<void> {
    await this.db.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { ...values({ ...job, expiresAt: this.expiresAt() }), ...jobKey(job.jobId) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(jobId: string): Promise<Job | undefined> {
    const { Item } = await this.db.send(new GetItemCommand({ TableName: this.tableName, Key: jobKey(jobId), ConsistentRead: true }));
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
   * the service while the first worker still may; once the lease has passed
   * (that worker died), the job may be run again.
   */
  async startRun(jobId: string, leaseUntil: Date): Promise<{ job: Job } | { ended: Job } | { busy: Job } | { missing: true }> {
    // `leaseUntil` exists exactly while a job is RUNNING (every other transition removes it),
    // so "QUEUED, or RUNNING under a lease that has passed" needs no nesting: dynalite's
    // expression parser costs far more per job with parentheses.
    const started = await this.start(jobId, leaseUntil, '#s = :queued OR leaseUntil < :now');
    if (started) return { job: started };
    // The rare path: find out why (dynalite does not return the item with the failure).
    const job = await this.get(jobId);
    if (!job) return { missing: true };
    if (job.status === 'SUCCEEDED' || job.status === 'FAILED') return { ended: job };
    if (job.status === 'RUNNING' && job.leaseUntil === undefined) {
      // Started before runs had leases: its worker's invocation is long over.
      const taken = await this.start(jobId, leaseUntil, '#s = :running AND attribute_not_exists(leaseUntil)');
      if (taken) return { job: taken };
    }
    return { busy: job };
  }

  private async start(jobId: string, leaseUntil: Date, condition: string): Promise<Job | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: 'SET #s = :running, updatedAt = :now, leaseUntil = :lease REMOVE nextAttemptAt',
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: values({ ':running': 'RUNNING', ...(condition.includes(':queued') && { ':queued': 'QUEUED' }), ':now': this.isoNow(), ':lease': leaseUntil.toISOString() }),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toJob(Attributes!);
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return undefined;
    }
  }

  /** Gives a run back before anything was called (our own infrastructure failed), so a redelivery may start at once. */
  async releaseRun(jobId: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: 'SET #s = :queued, updatedAt = :now REMOVE leaseUntil',
          ConditionExpression: '#s = :running',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: values({ ':queued': 'QUEUED', ':running': 'RUNNING', ':now': this.isoNow() }),
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  /** A retry was handed back to the queue: keep the count and the last error visible while it waits. */
  async recordDeferredRetry(jobId: string, attempts: number, lastError: JobError, nextAttemptAt: Date): Promise<void> {
    await this.db.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: jobKey(jobId),
        UpdateExpression: 'SET #s = :queued, attempts = :a, #e = :e, nextAttemptAt = :next, updatedAt = :now REMOVE leaseUntil',
        ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
        ExpressionAttributeValues: values({ ':queued': 'QUEUED', ':a': attempts, ':e': lastError, ':next': nextAttemptAt.toISOString(), ':now': this.isoNow() }),
      }),
    );
  }

  /**
   * `delivery` (PENDING) is written with the outcome, in the same update, when
   * the outcome is to be delivered; the ended job is then returned for the
   * delivery (only then: it carries the payload and result, up to 400 KB).
   */
  async succeed(jobId: string, attempts: number, result: ResultEnvelope, delivery?: JobDelivery): Promise<Job | undefined> {
    return this.finish(jobId, 'SUCCEEDED', attempts, 'result', result, delivery);
  }

  async fail(jobId: string, attempts: number, error: JobError, delivery?: JobDelivery): Promise<Job | undefined> {
    return this.finish(jobId, 'FAILED', attempts, 'error', error, delivery);
  }

  private async finish(jobId: string, status: 'SUCCEEDED' | 'FAILED', attempts: number, field: 'result' | 'error', value: unknown, delivery?: JobDelivery): Promise<Job | undefined> {
    const other = field === 'result' ? 'error' : 'result';
    const { Attributes } = await this.db.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: jobKey(jobId),
        UpdateExpression: `SET #s = :s, attempts = :a, #f = :v, updatedAt = :now${delivery ? ', delivery = :d' : ''} REMOVE #o, nextAttemptAt, leaseUntil`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#s': 'status', '#f': field, '#o': other },
        ExpressionAttributeValues: values({ ':s': status, ':a': attempts, ':v': value, ':now': this.isoNow(), ...(delivery && { ':d': delivery }) }),
        ReturnValues: delivery ? 'ALL_NEW' : 'NONE',
      }),
    );
    return Attributes ? toJob(Attributes) : undefined;
  }

  /** Records the delivery's progress; the job's own status and result are untouched. */
  async setDelivery(jobId: string, delivery: JobDelivery): Promise<void> {
    await this.db.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: jobKey(jobId),
        UpdateExpression: 'SET delivery = :d, updatedAt = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: values({ ':d': delivery, ':now': this.isoNow() }),
      }),
    );
  }

  /** Atomically reserves an idempotency key for a new job, or returns the job that already holds it. */
  async claimIdempotencyKey(key: string, requestHash: string, jobId: string): Promise<IdempotencyClaim> {
    try {
      await this.db.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...values({ jobId, requestHash, expiresAt: this.expiresAt() }), ...idempotencyKey(key) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { claimed: true };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const { Item } = await this.db.send(new GetItemCommand({ TableName: this.tableName, Key: idempotencyKey(key), ConsistentRead: true }));
    if (!Item) return this.claimIdempotencyKey(key, requestHash, jobId); // expired in between: claim again
    const held = read(Item);
    return { claimed: false, jobId: String(held.jobId), requestHash: String(held.requestHash) };
  }

  async releaseIdempotencyKey(key: string): Promise<void> {
    await this.db.send(new DeleteItemCommand({ TableName: this.tableName, Key: idempotencyKey(key) }));
  }
}
