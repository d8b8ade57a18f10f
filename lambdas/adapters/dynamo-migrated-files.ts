import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoFileLinkStore } from './file-repository';
import { FILES_TABLE } from '../contract/storage';
import type { MigratedFileRecord, MigratedFiles } from '../files/migration';
import { conditionHeld } from './conditional-write';

/**
 * The files table as a migration writes it: complete file records (the object
 * is in S3 already), each written only if it does not exist, so a rerun after a
 * crash leaves the records (and their links' progress) as they are. Reads go
 * through the worker's FileLinkStore, the same reads the file-link delivery makes.
 */
export class DynamoMigratedFiles implements MigratedFiles {
  private readonly links: DynamoFileLinkStore;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.links = new DynamoFileLinkStore(db, tableName);
  }

  async put(records: MigratedFileRecord[]): Promise<void> {
    for (const record of records) {
      await conditionHeld(() =>
        this.db.send(
          new PutCommand({
            TableName: this.tableName,
            Item: record,
            ConditionExpression: `attribute_not_exists(${FILES_TABLE.partitionKey})`,
          }),
        ),
      );
    }
  }

  get(fileId: string) {
    return this.links.get(fileId);
  }
}
