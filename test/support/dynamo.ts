import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { createLocalTables } from '../../local/hub';

/** An in-process dynalite with the hub's tables, reached over HTTP by the real SDK client. */
export async function startDynamo(): Promise<{
  client: DynamoDBClient;
  db: DynamoDBDocumentClient;
  tables: { connectors: string; jobs: string; files: string; migrations: string };
  stop(): Promise<void>;
}> {
  const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  const tables = await createLocalTables(client);
  return {
    client,
    db: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    tables,
    async stop() {
      client.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
