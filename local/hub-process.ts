import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { EMULATOR_CREDENTIALS, type LocalHubState } from './state';
import { parseConnector } from '../lambdas/connectors/schema';

/**
 * Starts the real local hub (`npm start`'s entry point) as a child process on
 * free ports, with its own state file, and gives tests HTTP, CLI and DynamoDB
 * access to it. Every test file that uses it must call `stop()` in afterAll.
 */
export const ROOT = resolve(__dirname, '..');
export const TEST_API_KEY = 'test-api-key';

/**
 * The node arguments of `npm start` (package.json's `scripts.start`, `node ARGS...`), with the
 * entry point made absolute: the hub as a child process runs exactly what `npm start` runs.
 */
export function startCommandArgs(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [node, ...args] = pkg.scripts.start.trim().split(/\s+/);
  if (node !== 'node' || !args.at(-1)?.endsWith('.ts')) throw new Error(`npm start is not "node ... ENTRY.ts"`);
  return [...args.slice(0, -1), join(ROOT, args.at(-1)!)];
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RunningHub {
  state: LocalHubState;
  statePath: string;
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  /** Runs `crm-bridge ARGS` against this hub (CRM_BRIDGE_LOCAL_STATE points at it). */
  cli(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  db: DynamoDBDocumentClient;
  /** Validates and writes a connector row straight to the hub's table (tests of the CLI use `cli`). */
  putConnector(row: unknown): Promise<void>;
  /** Polls GET /v1/jobs/{id} until the job is SUCCEEDED or FAILED. */
  waitForJob(jobId: string, timeoutMs?: number): Promise<any>;
  /** Hub stdout+stderr so far (for debugging failed tests). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * `nodeArgs` go before the entry point (e.g. --cpu-prof for profiling). The ready wait
 * stays under jest's 60 s hook timeout, so a slow start fails with the hub's own output.
 */
export async function startHubProcess(
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  readyTimeoutMs = 55_000,
): Promise<RunningHub> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-bridge-test-'));
  const statePath = join(dir, 'local-hub.json');
  const childEnv = {
    ...process.env,
    PORT: '0',
    ECHO_PORT: '0',
    CRM_BRIDGE_LOCAL_STATE: statePath,
    CRM_BRIDGE_API_KEY: TEST_API_KEY,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...env,
  };
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...startCommandArgs()], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
      reject(new Error(`hub did not start in ${readyTimeoutMs / 1000} s:\n${output}`));
    }, readyTimeoutMs);
    const check = () => {
      if (output.includes('local hub ready at')) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolveReady();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      reject(new Error(`hub exited with ${code}:\n${output}`));
    });
  });
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as LocalHubState;
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: state.region,
      endpoint: state.endpoints.dynamodb,
      credentials: EMULATOR_CREDENTIALS,
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );

  const hub: RunningHub = {
    state,
    statePath,
    db,
    output: () => output,
    async api(method, path, body, headers = {}) {
      const res = await fetch(state.baseUrl + path, {
        method,
        headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // leave as text
      }
      return { status: res.status, body: parsed as any, headers: res.headers };
    },
    cli(args, stdin) {
      return new Promise((resolveRun) => {
        const p = spawn(process.execPath, [join(ROOT, 'cli/crm-bridge.cjs'), ...args], {
          cwd: ROOT,
          env: childEnv,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        p.stdin.end(stdin ?? '');
        p.on('close', (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
      });
    },
    async putConnector(row) {
      // As `connectors put --local` writes it: the local hub calls services on loopback.
      const parsed = parseConnector(row, { allowPrivate: true });
      if (!parsed.ok) throw new Error(`test connector invalid: ${parsed.errors.join('; ')}`);
      await db.send(new PutCommand({ TableName: state.tables.connectors, Item: parsed.connector }));
    },
    async waitForJob(jobId, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await hub.api('GET', `/v1/jobs/${jobId}`);
        if (res.status === 200 && (res.body.status === 'SUCCEEDED' || res.body.status === 'FAILED')) return res.body;
        if (Date.now() > deadline)
          throw new Error(`job ${jobId} not finished after ${timeoutMs} ms: ${JSON.stringify(res.body)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      db.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return hub;
}
