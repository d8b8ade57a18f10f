import { createServer } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { parseConnector } from '../lambdas/connectors/schema';
import { echoConnector, startEchoServer } from './echo-server';
import { DEFAULT_API_CONCURRENCY, DEFAULT_API_NICE, LOCAL_SECRETS_CACHE_TTL_SECONDS, startHub } from './hub';
import { installLogFormat } from './log-format';
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  WORKER_BATCH_SIZE,
  WORKER_CONCURRENCY,
  WORKER_TIMEOUT_SECONDS,
} from '../lambdas/contract/queue';
import { EMULATOR_CREDENTIALS, localStatePath, removeLocalState, runningHub, writeLocalState } from './state';

/** `npm start`: the hub on local emulators, seeded with the demo `echo` connector. */
const DEFAULT_API_KEY = 'local-dev-key';

function intFromEnv(name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) {
    console.error(
      `${name} must be ${max === Number.MAX_SAFE_INTEGER ? 'a non-negative integer' : `an integer from 0 to ${max}`}, got "${raw}"`,
    );
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

function malwareScanFromEnv(): boolean {
  const raw = process.env.MALWARE_SCAN || '';
  if (raw !== '' && raw !== 'local') {
    console.error(`MALWARE_SCAN must be "local" (the stand-in scanner) or unset, got "${raw}"`);
    process.exit(2);
  }
  return raw === 'local';
}

/** A startup problem the user can fix: printed as it is, without a stack trace. */
class StartError extends Error {}

/** Whether 127.0.0.1:port can be listened on now (0 always can). */
function portFree(port: number): Promise<boolean> {
  if (port === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function busyPort(port: number, variable: string, statePath: string, hubThere = false): StartError {
  const who = hubThere
    ? `by a crm-bridge hub with another state file (its /v1/health answers; none is recorded in ${statePath})`
    : `by another program (no running crm-bridge hub is recorded in ${statePath})`;
  return new StartError(
    `port ${port} (${variable}) on 127.0.0.1 is already in use ${who}. Choose another port: ${variable}=${port + 1} npm start (or ${variable}=0 for any free port).`,
  );
}

/** Whether what holds the port answers like a crm-bridge hub (GET /v1/health needs no key). */
async function hubAnswers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok && ((await res.json()) as { status?: unknown }).status === 'ok';
  } catch {
    return false;
  }
}

async function main() {
  const statePath = localStatePath();
  // One hub per state file: a second one would take over the file the CLI's --local reads, and delete it on exit.
  const other = runningHub(statePath);
  if (other) {
    throw new StartError(
      `another crm-bridge local hub is already running at ${other.baseUrl} (pid ${other.pid}, state file ${statePath}). ` +
        `Use that one, stop it (kill ${other.pid}), or start a second hub with its own state file and port: ` +
        `CRM_BRIDGE_LOCAL_STATE=/tmp/crm-bridge-2.json PORT=0 npm start (then pass the same CRM_BRIDGE_LOCAL_STATE to "crm-bridge ... --local").`,
    );
  }
  const apiKey = process.env.CRM_BRIDGE_API_KEY || DEFAULT_API_KEY;
  const port = intFromEnv('PORT', 3000);
  const echoPort = intFromEnv('ECHO_PORT', 0);
  // Checked before the emulators start, so the answer comes at once and names the setting to change.
  if (!(await portFree(port))) throw busyPort(port, 'PORT', statePath, await hubAnswers(port));
  if (!(await portFree(echoPort))) throw busyPort(echoPort, 'ECHO_PORT', statePath);
  // Locally a rotated secret takes effect as fast as a changed row (1 s), not after Lambda's 300 s.
  process.env.SECRETS_CACHE_TTL_SECONDS ??= String(LOCAL_SECRETS_CACHE_TTL_SECONDS);
  const echo = await startEchoServer(echoPort).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'EADDRINUSE' ? busyPort(echoPort, 'ECHO_PORT', statePath) : err;
  });
  // Job transitions (accepted, started, succeeded, ...) are INFO lines; EMF metrics only matter on AWS.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'INFO';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const logFormat = process.env.LOG_FORMAT ?? 'text';
  if (logFormat !== 'json' && logFormat !== 'text')
    throw new StartError(`LOG_FORMAT must be "text" or "json", got "${logFormat}"`);
  if (logFormat === 'text') {
    // Powertools writes INFO to stdout, WARN and ERROR to stderr.
    installLogFormat(process.stdout);
    installLogFormat(process.stderr);
  }
  const hub = await startHub({
    port,
    apiKey,
    workerConcurrency: intFromEnv('WORKER_CONCURRENCY', WORKER_CONCURRENCY.default),
    batchSize: intFromEnv('WORKER_BATCH_SIZE', WORKER_BATCH_SIZE.default),
    // The queue's visibility timeout is 6x this, as on AWS.
    workerTimeoutMs: intFromEnv('WORKER_TIMEOUT_SECONDS', WORKER_TIMEOUT_SECONDS.default) * 1000,
    maxReceiveCount: intFromEnv('MAX_RECEIVE_COUNT', DEFAULT_MAX_RECEIVE_COUNT),
    // HUB_THREADS=0 runs everything in one thread (for debugging and profiling).
    threads: intFromEnv('HUB_THREADS', 1) !== 0,
    // API_CONCURRENCY=0 lifts the local API Gateway's limit; API_NICE=0 keeps the API thread's priority.
    apiConcurrency: intFromEnv('API_CONCURRENCY', DEFAULT_API_CONCURRENCY),
    apiNice: intFromEnv('API_NICE', DEFAULT_API_NICE, 19),
    // HUB_HANDLERS=bundled runs the Lambda bundles `cdk synth` produces instead of the sources.
    handlers: handlersFromEnv(),
    // MALWARE_SCAN=local: files are SCANNING after complete until the stand-in scanner reports (docs/files.md).
    ...(malwareScanFromEnv() && { malwareScan: 'local' as const }),
    onWorkerError: (err) => console.error('[worker]', err instanceof Error ? err.message : err),
  });

  // The echo service listens on loopback, which the local hub allows.
  const seeded = parseConnector(echoConnector(echo.url), { allowPrivate: true });
  if (!seeded.ok) throw new Error(`demo connector is invalid: ${seeded.errors.join('; ')}`);
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: hub.state.region,
      endpoint: hub.state.endpoints.dynamodb,
      credentials: EMULATOR_CREDENTIALS,
    }),
  );
  await db.send(new PutCommand({ TableName: hub.state.tables.connectors, Item: seeded.connector }));

  writeLocalState(
    {
      ...hub.state,
      pid: process.pid,
      echoUrl: echo.url,
      secretsCacheTtlSeconds: Number(process.env.SECRETS_CACHE_TTL_SECONDS),
    },
    statePath,
  );

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
  if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
    err = busyPort(intFromEnv('PORT', 3000), 'PORT', localStatePath()); // lost a race with the probe
  console.error('crm-bridge local hub failed to start:', err instanceof Error ? err.message : err);
  process.exit(err instanceof StartError ? 2 : 1);
});
