import { DeleteCommand, GetCommand, PutCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { InvalidConnectorError } from '../shared/errors';
import { parseConnector, type Connector } from '../connectors/schema';
import type { ConnectorSource } from '../domain/connector-source';
import { TtlCache } from '../shared/cache';
import { CONNECTORS_TABLE_KEY } from '../contract/storage';

/**
 * Connector rows in DynamoDB. Every read goes through the schema, so a row an
 * admin broke by hand fails with a message naming the field, not deep in a wrapper.
 * Found rows are cached for `cacheTtlMs` per warm Lambda: a row change takes
 * effect within that time, without a redeploy. Misses are not cached, so a
 * newly added connector works at once. Concurrent reads of one row share one
 * request: when the entry expires, the worker's 25 jobs in flight would
 * otherwise read it 25 times at once.
 */
export class ConnectorStore implements ConnectorSource {
  private readonly cache: TtlCache<string, Connector | undefined>;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    cacheTtlMs = 30_000,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache({ ttlMs: cacheTtlMs, keep: (connector) => connector !== undefined, now });
  }

  get(connectorId: string): Promise<Connector | undefined> {
    return this.cache.get(connectorId, () => this.read(connectorId));
  }

  private async read(connectorId: string): Promise<Connector | undefined> {
    const Item = await this.getRaw(connectorId);
    if (!Item) return undefined;
    // Targets are checked when the worker calls them (TARGET_NOT_ALLOWED), whatever was written to the table.
    const parsed = parseConnector(Item, { targets: 'skip' });
    if (!parsed.ok) throw new InvalidConnectorError(connectorId, parsed.errors.join('; '));
    return parsed.connector;
  }

  /** The row as stored, unvalidated (for the admin CLI). */
  async getRaw(connectorId: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { [CONNECTORS_TABLE_KEY]: connectorId } }),
    );
    return Item;
  }

  /** Writes a row that has already been validated (the CLI validates before calling). */
  async put(connector: Connector): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: connector }));
    this.cache.delete(connector.connectorId);
  }

  async delete(connectorId: string): Promise<boolean> {
    const { Attributes } = await this.db.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { [CONNECTORS_TABLE_KEY]: connectorId },
        ReturnValues: 'ALL_OLD',
      }),
    );
    this.cache.delete(connectorId);
    return Attributes !== undefined;
  }

  /** Raw rows (validity reported per row), for the admin CLI. */
  async list(): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: startKey }));
      items.push(...((page.Items ?? []) as Array<Record<string, unknown>>));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items.sort((a, b) => String(a.connectorId).localeCompare(String(b.connectorId)));
  }
}
