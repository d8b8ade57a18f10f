import { GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LimiterState, LimiterStateStore } from '../domain/connector-limits';
import { JOBS_TABLE } from '../contract/storage';
import { conditionHeld } from './conditional-write';

const { partitionKey: PK, timeToLive: TTL } = JOBS_TABLE;

/**
 * The limiter item of a connector in the jobs table (partition key `LIMIT#<connectorId>`),
 * read and written with GetItem / conditional UpdateItem only (the worker's
 * grants on that table). It expires through the table's TTL a day after its last change.
 */
export class DynamoLimiterStore implements LimiterStateStore {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private key(connectorId: string) {
    return { [PK]: { S: `LIMIT#${connectorId}` } };
  }

  async read(connectorId: string) {
    const { Item } = await this.db.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.key(connectorId), ConsistentRead: true }),
    );
    if (!Item?.v?.N || !Item.state?.S) return undefined;
    const ended = Object.fromEntries(Object.entries(Item.ended?.M ?? {}).map(([id, at]) => [id, Number(at.N)]));
    return { state: JSON.parse(Item.state.S) as LimiterState, version: Number(Item.v.N), ended };
  }

  /**
   * A map entry set in one unconditional update (the map exists once the record was written);
   * the version stays, so a worker deciding meanwhile does not have to start over.
   */
  end(connectorId: string, callId: string, at: number) {
    return conditionHeld(() =>
      this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(connectorId),
          UpdateExpression: 'SET ended.#id = :at',
          ConditionExpression: 'attribute_exists(ended)',
          ExpressionAttributeNames: { '#id': callId },
          ExpressionAttributeValues: { ':at': { N: String(at) } },
        }),
      ),
    );
  }

  /**
   * The first write creates the ends map; later ones remove only the ends they
   * absorbed (an end recorded after the read stays for the next write).
   */
  write(
    connectorId: string,
    state: LimiterState,
    expectedVersion: number | undefined,
    absorbed: readonly string[] = [],
  ) {
    const first = expectedVersion === undefined;
    const removed = first ? [] : absorbed;
    return conditionHeld(() =>
      this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(connectorId),
          UpdateExpression:
            `SET #st = :st, v = :next, #ttl = :exp${first ? ', ended = :none' : ''}` +
            (removed.length > 0 ? ` REMOVE ${removed.map((_, i) => `ended.#e${i}`).join(', ')}` : ''),
          ConditionExpression: first ? 'attribute_not_exists(v)' : 'v = :v',
          ExpressionAttributeNames: {
            '#st': 'state',
            '#ttl': TTL,
            ...Object.fromEntries(removed.map((id, i) => [`#e${i}`, id])),
          },
          ExpressionAttributeValues: {
            ':st': { S: JSON.stringify(state) },
            ':next': { N: String((expectedVersion ?? 0) + 1) },
            ':exp': { N: String(Math.floor(Date.now() / 1000) + 86_400) },
            ...(first ? { ':none': { M: {} } } : { ':v': { N: String(expectedVersion) } }),
          },
        }),
      ),
    );
  }
}
