import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ResultEnvelope } from '../connectors/types';
import type { Job, JobError } from './job';

const jobKey = (jobId: string) => ({ pk: `JOB#${jobId}` });
const idempotencyKey = (key: string) => ({ pk: `IDEMPOTENCY#${key}` });

export type IdempotencyClaim = { claimed: true } | { claimed: false; jobId: string; requestHash: string };

/**
 * Jobs and idempotency keys share one table (partition key `pk`), both expiring
 * through the table's TTL attribute `expiresAt` (epoch seconds).
 */
export class JobStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly ttlDays = 30,
    private readonly now: () => number = Date.now,
  ) {}

  private expiresAt(): number {
    return Math.floor(this.now() / 1000) + this.ttlDays * 86_400;
  }

  async create(job: Job): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...jobKey(job.jobId), ...job, expiresAt: this.expiresAt() },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(jobId: string): Promise<Job | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: jobKey(jobId), ConsistentRead: true }));
    if (!Item) return undefined;
    const { pk: _pk, expiresAt: _exp, ...job } = Item;
    return job as Job;
  }

  /** Moves a non-terminal job to RUNNING; returns false when it already ended (a redelivered message). */
  async markRunning(jobId: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: 'SET #s = :running, updatedAt = :now REMOVE nextAttemptAt',
          ConditionExpression: 'attribute_exists(pk) AND #s IN (:queued, :running)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':running': 'RUNNING', ':queued': 'QUEUED', ':now': new Date(this.now()).toISOString() },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /** A retry was handed back to the queue: keep the count and the last error visible while it waits. */
  async recordDeferredRetry(jobId: string, attempts: number, lastError: JobError, nextAttemptAt: Date): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: jobKey(jobId),
        UpdateExpression: 'SET #s = :queued, attempts = :a, #e = :e, nextAttemptAt = :next, updatedAt = :now',
        ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
        ExpressionAttributeValues: {
          ':queued': 'QUEUED',
          ':a': attempts,
          ':e': lastError,
          ':next': nextAttemptAt.toISOString(),
          ':now': new Date(this.now()).toISOString(),
        },
      }),
    );
  }

  async succeed(jobId: string, attempts: number, result: ResultEnvelope): Promise<void> {
    await this.finish(jobId, 'SUCCEEDED', attempts, 'result', result);
  }

  async fail(jobId: string, attempts: number, error: JobError): Promise<void> {
    await this.finish(jobId, 'FAILED', attempts, 'error', error);
  }

  private async finish(jobId: string, status: 'SUCCEEDED' | 'FAILED', attempts: number, field: 'result' | 'error', value: unknown): Promise<void> {
    const other = field === 'result' ? 'error' : 'result';
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: jobKey(jobId),
        UpdateExpression: `SET #s = :s, attempts = :a, #f = :v, updatedAt = :now REMOVE #o, nextAttemptAt`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#s': 'status', '#f': field, '#o': other },
        ExpressionAttributeValues: { ':s': status, ':a': attempts, ':v': value, ':now': new Date(this.now()).toISOString() },
      }),
    );
  }

  /** Atomically reserves an idempotency key for a new job, or returns the job that already holds it. */
  async claimIdempotencyKey(key: string, requestHash: string, jobId: string): Promise<IdempotencyClaim> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...idempotencyKey(key), jobId, requestHash, expiresAt: this.expiresAt() },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { claimed: true };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: idempotencyKey(key), ConsistentRead: true }));
    if (!Item) return this.claimIdempotencyKey(key, requestHash, jobId); // expired in between: claim again
    return { claimed: false, jobId: String(Item.jobId), requestHash: String(Item.requestHash) };
  }

  async releaseIdempotencyKey(key: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: idempotencyKey(key) }));
  }
}
