import { FILES_TABLE } from '../contract/storage';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { FileLink, FileLinkStore, FileRecord, FileStatus } from '../files/file-link';
import type { FilePageKey, FileRepository } from '../files/file-ports';
import { conditionHeld, unlessConditionFails } from './conditional-write';

const FILE_KEY = FILES_TABLE.partitionKey;
const key = (fileId: string) => ({ [FILE_KEY]: fileId });
/** Never resurrect a deleted file as a partial record. */
const EXISTS = `attribute_exists(${FILE_KEY})`;

/** The worker's access to the files table: read a file, record its link's progress. */
export class DynamoFileLinkStore implements FileLinkStore {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
    protected readonly tableName: string,
  ) {}

  async get(fileId: string): Promise<FileRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: key(fileId), ConsistentRead: true }),
    );
    return Item as FileRecord | undefined;
  }

  setLink(fileId: string, link: FileLink): Promise<boolean> {
    return this.writeLink(fileId, link);
  }

  /** Sets the link when the file exists (never resurrect a deleted file as a partial record) and `also` holds. */
  protected writeLink(
    fileId: string,
    link: FileLink,
    also?: { condition: string; names: Record<string, string>; values: Record<string, unknown> },
  ): Promise<boolean> {
    return conditionHeld(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(fileId),
          UpdateExpression: 'SET #l = :l',
          ConditionExpression: `${EXISTS}${also ? ` AND ${also.condition}` : ''}`,
          ExpressionAttributeNames: { '#l': 'link', ...also?.names },
          ExpressionAttributeValues: { ':l': link, ...also?.values },
        }),
      ),
    );
  }
}

/** The file service's records in the files table; listings by record through its byRecordId index. */
export class DynamoFileRepository extends DynamoFileLinkStore implements FileRepository {
  async create(record: FileRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: record,
        ConditionExpression: `attribute_not_exists(${FILE_KEY})`,
      }),
    );
  }

  async completePending(
    fileId: string,
    change: { status: FileRecord['status']; updatedAt: string; link?: FileLink; unlessScanned: boolean },
  ): Promise<FileRecord | undefined> {
    const { link } = change;
    return unlessConditionFails(
      async () => {
        const { Attributes } = await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key(fileId),
            UpdateExpression: `SET #s = :status, updatedAt = :now${link ? ', #l = :link' : ''} REMOVE uploadId`,
            // attribute_exists: a file deleted meanwhile is never resurrected as a partial record.
            ConditionExpression: `${EXISTS} AND #s = :pending${change.unlessScanned ? ' AND attribute_not_exists(scanResult)' : ''}`,
            ExpressionAttributeNames: { '#s': 'status', ...(link && { '#l': 'link' }) },
            ExpressionAttributeValues: {
              ':status': change.status,
              ':pending': 'PENDING',
              ':now': change.updatedAt,
              ...(link && { ':link': link }),
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return Attributes as FileRecord;
      },
      () => undefined,
    );
  }

  recordScan(
    fileId: string,
    change: { from: FileStatus; scanResult: string; updatedAt: string; status?: FileStatus; link?: FileLink },
  ): Promise<boolean> {
    const { status, link } = change;
    return conditionHeld(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(fileId),
          UpdateExpression: `SET scanResult = :r, updatedAt = :now${status ? ', #s = :s' : ''}${link ? ', #l = :l' : ''}`,
          ConditionExpression: `${EXISTS} AND #s = :from`,
          ExpressionAttributeNames: { '#s': 'status', ...(link && { '#l': 'link' }) },
          ExpressionAttributeValues: {
            ':r': change.scanResult,
            ':now': change.updatedAt,
            ':from': change.from,
            ...(status && { ':s': status }),
            ...(link && { ':l': link }),
          },
        }),
      ),
    );
  }

  replaceFailedLink(fileId: string, code: string, link: FileLink): Promise<boolean> {
    return this.writeLink(fileId, link, {
      condition: '#l.#ls = :failed AND #l.#e.code = :code',
      names: { '#ls': 'status', '#e': 'error' },
      values: { ':failed': 'FAILED', ':code': code },
    });
  }

  async listByRecord(
    recordId: string,
    page: { limit: number; after?: FilePageKey; newestFirst: boolean },
  ): Promise<{ files: FileRecord[]; next?: FilePageKey }> {
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: FILES_TABLE.byRecord.indexName,
        KeyConditionExpression: '#r = :r',
        ExpressionAttributeNames: { '#r': FILES_TABLE.byRecord.partitionKey },
        ExpressionAttributeValues: { ':r': recordId },
        Limit: page.limit,
        // A page key of the index is the table's key and the index's: exactly FilePageKey.
        ExclusiveStartKey: page.after,
        ...(page.newestFirst && { ScanIndexForward: false }),
      }),
    );
    return {
      files: (res.Items ?? []) as FileRecord[],
      ...(res.LastEvaluatedKey && { next: res.LastEvaluatedKey as FilePageKey }),
    };
  }

  async delete(fileId: string): Promise<void> {
    // Deleted concurrently: the same outcome.
    await conditionHeld(() =>
      this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: key(fileId),
          ConditionExpression: EXISTS,
        }),
      ),
    );
  }
}
