import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { parseConnector } from '../lambdas/connectors/schema';
import { echoConnector, startEchoServer } from './echo-server';
import { DEFAULT_API_CONCURRENCY, DEFAULT_API_NICE, startHub } from './hub';
import { localStatePath, removeLocalState, writeLocalState } from './state';

/** `npm start`: the hub on local emulators, seeded with the demo `echo` connector. */
const DEFAULT_API_KEY = 'local-dev-key';

function intFromEnv(name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) {
    console.error(`${name} must be ${max === Number.MAX_SAFE_INTEGER ? 'a non-negative integer' : `an integer from 0 to ${max}`}, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

function handlersFromEnv(): 'source' | 'bundled' {
  const raw = process.env.HUB_HANDLERS || 'source';
  if (raw !== 'source' && raw !== 'bundled') {
    console.error(`HUB_HANDLERS must be "source" or "bundled", got "${raw}"`);
    process.exit(2);
  }
  return raw;
}

async function main() {
  const apiKey = process.env.CRM_BRIDGE_API_KEY || DEFAULT_API_KEY;
  const echo = await startEchoServer(intFromEnv('ECHO_PORT', 0));
  const hub = await startHub({
    port: intFromEnv('PORT', 3000),
    apiKey,
    workerConcurrency: intFromEnv('WORKER_CONCURRENCY', 25),
    batchSize: intFromEnv('WORKER_BATCH_SIZE', 1),
    // The queue's visibility timeout is 6x this, as on AWS.
    workerTimeoutMs: intFromEnv('WORKER_TIMEOUT_SECONDS', 60) * 1000,
    maxReceiveCount: intFromEnv('MAX_RECEIVE_COUNT', 25),
    // HUB_THREADS=0 runs everything in one thread (for debugging and profiling).
    threads: intFromEnv('HUB_THREADS', 1) !== 0,
    // API_CONCURRENCY=0 lifts the local API Gateway's limit; API_NICE=0 keeps the API thread's priority.
    apiConcurrency: intFromEnv('API_CONCURRENCY', DEFAULT_API_CONCURRENCY),
    apiNice: intFromEnv('API_NICE', DEFAULT_API_NICE, 19),
    // HUB_HANDLERS=bundled runs the Lambda bundles `cdk synth` produces instead of the sources.
    handlers: handlersFromEnv(),
    onWorkerError: (err) => console.error('[worker]', err instanceof Error ? err.message : err),
  });

  // The echo service listens on loopback, which the local hub allows.
  const seeded = parseConnector(echoConnector(echo.url), { allowPrivate: true });
  if (!seeded.ok) throw new Error(`demo connector is invalid: ${seeded.errors.join('; ')}`);
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: hub.state.region, endpoint: hub.state.endpoints.dynamodb, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }));
  await db.send(new PutCommand({ TableName: hub.state.tables.connectors, Item: seeded.connector }));

  const statePath = localStatePath();
  writeLocalState({ ...hub.state, pid: process.pid, echoUrl: echo.url }, statePath);

  const { baseUrl } = hub.state;
  console.log(`crm-bridge local hub ready at ${baseUrl}
  API key (x-api-key): ${apiKey}${apiKey === DEFAULT_API_KEY ? '   (set CRM_BRIDGE_API_KEY to change it)' : ''}
  demo connector "echo" -> ${echo.url}
  try:  curl -s -X POST ${baseUrl}/v1/callouts/echo/echo -H 'x-api-key: ${apiKey}' -H 'content-type: application/json' -d '{"payload":{"hello":"world"}}'
  state: ${statePath} (used by "npx crm-bridge ... --local")
  Ctrl-C to stop`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local hub`);
    removeLocalState(statePath);
    await hub.stop();
    await new Promise<void>((resolve) => echo.server.close(() => resolve()));
    db.destroy();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error('crm-bridge local hub failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
