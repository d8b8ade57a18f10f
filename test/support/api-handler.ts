import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { connectorSchema } from '../../lambdas/connectors/schema';
import { ConnectorStore } from '../../lambdas/adapters/connector-store';
import { createLocalResources, localHandlerEnvironment } from '../../local/hub';
import { startThread } from '../../local/thread';

export interface ApiUnderTest {
  handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  connectors: ConnectorStore;
  stop(): Promise<void>;
}

/**
 * The real controller Lambda (lambdas/api.ts, imported fresh) on the emulators,
 * each group in a worker thread as `npm start` runs them (fauxqs is ESM-only,
 * which jest's CommonJS modules cannot import; dynalite there leaves this
 * thread to the handler). Env is restored on stop.
 */
export async function startApiHandler(): Promise<ApiUnderTest> {
  const savedEnv = { ...process.env };
  const [dynamo, queues] = await Promise.all([
    startThread<{ dynamodb: string }>('emulator-thread.ts', 'dynamodb'),
    startThread<{ sqs: string; s3: string; ssm: string }>('emulator-thread.ts', 'queues'),
  ]);
  const endpoints = { ...dynamo.ready, ...queues.ready };
  const resources = await createLocalResources(endpoints, 5, 30);
  Object.assign(process.env, {
    ...localHandlerEnvironment(endpoints, resources),
    CONNECTOR_CACHE_TTL_SECONDS: '60',
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  });
  let api!: typeof import('../../lambdas/api');
  let clients!: typeof import('../../lambdas/shared/clients');
  jest.isolateModules(() => {
    api = require('../../lambdas/api');
    clients = require('../../lambdas/shared/clients');
  });
  const ddb = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: endpoints.dynamodb,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const connectors = new ConnectorStore(DynamoDBDocumentClient.from(ddb), resources.tables.connectors, 0);
  await connectors.put(
    connectorSchema.parse({
      connectorId: 'echo',
      type: 'rest',
      baseUrl: 'http://127.0.0.1:9/api',
      operations: { echo: { method: 'POST', path: '/echo' }, getThing: { method: 'GET', path: '/things/{id}' } },
    }),
  );
  return {
    handler: api.handler,
    connectors,
    async stop() {
      for (const c of [clients.dynamoDb, clients.documentClient, clients.sqs, clients.s3, ddb]) c.destroy();
      await Promise.all([dynamo.stop(), queues.stop()]);
      process.env = savedEnv;
    },
  };
}
