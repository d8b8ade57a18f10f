import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { JobError } from '../domain/job';
import { InvalidRequestError } from '../shared/errors';
import { MIGRATIONS_TABLE } from '../contract/storage';
import { conditionHeld } from './conditional-write';
import {
  ZERO_COUNTS,
  type AuditRow,
  type CopyMarker,
  type Migration,
  type MigrationCounts,
  type MigrationPhase,
  type MigrationStore,
} from '../files/migration';

const { partitionKey: PK, sortKey: SK } = MIGRATIONS_TABLE;
const meta = (migrationId: string) => ({ [PK]: `MIGRATION#${migrationId}`, [SK]: 'META' });
const auditKey = (migrationId: string, contentVersionId: string) => ({
  [PK]: `MIGRATION#${migrationId}`,
  [SK]: `FILE#${contentVersionId}`,
});
const copyKey = (connectorId: string, contentVersionId: string) => ({
  [PK]: `COPY#${connectorId}#${contentVersionId}`,
  [SK]: 'COPY',
});
const EXISTS = `attribute_exists(${PK})`;
/** A migration's audit rows. */
const AUDIT_ROWS = `${PK} = :pk AND begins_with(${SK}, :file)`;
const COUNT_NAMES = Object.keys(ZERO_COUNTS) as Array<keyof MigrationCounts>;
/** Counters are top-level numbers (`count_moved` ...), so each file adds to them in one atomic update. */
const countAttr = (name: keyof MigrationCounts) => `count_${name}`;

function toMigration(item: Record<string, unknown>): Migration {
  const { [PK]: _pk, [SK]: _sk, ...rest } = item;
  const counts = { ...ZERO_COUNTS };
  for (const name of COUNT_NAMES) {
    counts[name] = Number(rest[countAttr(name)] ?? 0);
    delete rest[countAttr(name)];
  }
  return { ...(rest as Omit<Migration, 'counts'>), counts };
}

/**
 * Migrations in their own table (partition key `pk`, sort key `sk`, no TTL:
 * the audit is kept): per migration its state (`MIGRATION#id`/`META`) and one
 * audit row per ContentVersion (`MIGRATION#id`/`FILE#versionId`); per connector
 * and ContentVersion the copy marker (`COPY#connector#versionId`/`COPY`).
 */
export class DynamoMigrationStore implements MigrationStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(m: Migration): Promise<void> {
    const { counts, ...rest } = m;
    const item: Record<string, unknown> = { ...meta(m.migrationId), ...rest };
    for (const name of COUNT_NAMES) item[countAttr(name)] = counts[name];
    await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: `attribute_not_exists(${PK})` }),
    );
  }

  async get(migrationId: string): Promise<Migration | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: meta(migrationId), ConsistentRead: true }),
    );
    return Item ? toMigration(Item) : undefined;
  }

  lease(migrationId: string, seq: number, token: string, until: string, now: string): Promise<boolean> {
    return conditionHeld(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: meta(migrationId),
          UpdateExpression: 'SET #s = :running, leaseToken = :t, leaseUntil = :until, updatedAt = :now',
          ConditionExpression:
            '#seq = :seq AND #s IN (:queued, :running) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
          ExpressionAttributeNames: { '#s': 'status', '#seq': 'seq' },
          ExpressionAttributeValues: {
            ':running': 'RUNNING',
            ':queued': 'QUEUED',
            ':t': token,
            ':until': until,
            ':now': now,
            ':seq': seq,
          },
        }),
      ),
    );
  }

  async release(migrationId: string, token: string): Promise<void> {
    await conditionHeld(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: meta(migrationId),
          UpdateExpression: 'REMOVE leaseToken, leaseUntil',
          ConditionExpression: 'leaseToken = :t',
          ExpressionAttributeValues: { ':t': token },
        }),
      ),
    );
  }

  advance(
    migrationId: string,
    token: string,
    next: { seq: number; cursor?: string; phase: MigrationPhase; deleteWaitSince?: string },
  ): Promise<boolean> {
    const set = ['#seq = :seq', '#phase = :phase', 'updatedAt = :now'];
    const values: Record<string, unknown> = {
      ':seq': next.seq,
      ':phase': next.phase,
      ':now': new Date().toISOString(),
      ':t': token,
    };
    if (next.cursor !== undefined) {
      set.push('#cursor = :cursor');
      values[':cursor'] = next.cursor;
    }
    if (next.deleteWaitSince !== undefined) {
      set.push('deleteWaitSince = :wait');
      values[':wait'] = next.deleteWaitSince;
    }
    return conditionHeld(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: meta(migrationId),
          UpdateExpression: `SET ${set.join(', ')} REMOVE leaseToken, leaseUntil`,
          ConditionExpression: 'leaseToken = :t',
          ExpressionAttributeNames: {
            '#seq': 'seq',
            '#phase': 'phase',
            ...(next.cursor !== undefined && { '#cursor': 'cursor' }),
          },
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async finish(
    migrationId: string,
    token: string | undefined,
    status: 'SUCCEEDED' | 'FAILED',
    error?: JobError,
  ): Promise<void> {
    const now = new Date().toISOString();
    await conditionHeld(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: meta(migrationId),
          UpdateExpression: `SET #s = :s, endedAt = :now, updatedAt = :now${error ? ', #e = :e' : ''} REMOVE leaseToken, leaseUntil`,
          ConditionExpression: token === undefined ? EXISTS : 'leaseToken = :t',
          ExpressionAttributeNames: { '#s': 'status', ...(error && { '#e': 'error' }) },
          ExpressionAttributeValues: {
            ':s': status,
            ':now': now,
            ...(error && { ':e': error }),
            ...(token !== undefined && { ':t': token }),
          },
        }),
      ),
    );
  }

  async addCounts(migrationId: string, delta: Partial<MigrationCounts>): Promise<void> {
    const names = COUNT_NAMES.filter((n) => delta[n]);
    if (names.length === 0) return;
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: meta(migrationId),
        UpdateExpression: `ADD ${names.map((n, i) => `${countAttr(n)} :c${i}`).join(', ')}`,
        ConditionExpression: EXISTS,
        ExpressionAttributeValues: Object.fromEntries(names.map((n, i) => [`:c${i}`, delta[n]])),
      }),
    );
  }

  async putAudit(migrationId: string, row: AuditRow): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.tableName, Item: { ...auditKey(migrationId, row.contentVersionId), ...row } }),
    );
  }

  async listAudit(
    migrationId: string,
    limit: number,
    startKey?: string,
  ): Promise<{ rows: AuditRow[]; nextKey?: string }> {
    let start: Record<string, string> | undefined;
    if (startKey !== undefined) {
      const sk = Buffer.from(startKey, 'base64url').toString('utf8');
      if (!/^FILE#[A-Za-z0-9]{15,18}$/.test(sk))
        throw new InvalidRequestError('nextToken is not valid; pass the value from the previous page unchanged');
      start = { [PK]: `MIGRATION#${migrationId}`, [SK]: sk };
    }
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: AUDIT_ROWS,
        ExpressionAttributeValues: { ':pk': `MIGRATION#${migrationId}`, ':file': 'FILE#' },
        Limit: limit,
        ExclusiveStartKey: start,
      }),
    );
    const rows = (page.Items ?? []).map(({ [PK]: _pk, [SK]: _sk, ...row }) => row as AuditRow);
    const last = page.LastEvaluatedKey?.[SK] as string | undefined;
    return { rows, ...(last !== undefined && { nextKey: Buffer.from(last).toString('base64url') }) };
  }

  async pendingDeletes(migrationId: string, limit: number): Promise<AuditRow[]> {
    const rows: AuditRow[] = [];
    let start: Record<string, unknown> | undefined;
    // A filtered query may return few rows per page: bounded reads, the next batch goes on.
    for (let reads = 0; reads < 20 && rows.length < limit; reads++) {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: AUDIT_ROWS,
          FilterExpression: 'deletePending = :yes',
          ExpressionAttributeValues: { ':pk': `MIGRATION#${migrationId}`, ':file': 'FILE#', ':yes': true },
          Limit: 100,
          ExclusiveStartKey: start,
        }),
      );
      rows.push(...(page.Items ?? []).map(({ [PK]: _pk, [SK]: _sk, ...row }) => row as AuditRow));
      start = page.LastEvaluatedKey;
      if (!start) break;
    }
    return rows.slice(0, limit);
  }

  async getCopy(connectorId: string, contentVersionId: string): Promise<CopyMarker | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: copyKey(connectorId, contentVersionId), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const { [PK]: _pk, [SK]: _sk, ...marker } = Item;
    return marker as CopyMarker;
  }

  async putCopy(marker: CopyMarker): Promise<void> {
    // A concurrent run that copied it first keeps its marker (the object and the file records are the same).
    await conditionHeld(() =>
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...copyKey(marker.connectorId, marker.contentVersionId), ...marker },
          ConditionExpression: `attribute_not_exists(${PK})`,
        }),
      ),
    );
  }

  async markDeleted(connectorId: string, contentVersionId: string, at: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: copyKey(connectorId, contentVersionId),
        UpdateExpression: 'SET deletedAt = :at',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
  }
}
