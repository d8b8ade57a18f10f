import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** What every SDK client of the emulators uses: they check neither, but the SDK needs both. */
export const EMULATOR_REGION = 'us-east-1';
export const EMULATOR_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/**
 * Where a running local hub says how to reach it, so `crm-bridge ... --local`
 * finds it whatever port it chose. CRM_BRIDGE_LOCAL_STATE overrides the path
 * (tests run several hubs at once).
 */
export interface LocalHubState {
  pid: number;
  baseUrl: string;
  apiKey: string;
  stage: string;
  region: string;
  endpoints: { dynamodb: string; sqs: string; s3: string; ssm: string };
  tables: { connectors: string; jobs: string; files: string; migrations?: string };
  queues: { jobs: string; deadLetter: string };
  bucket: string;
  echoUrl?: string;
  /** How long the hub's worker reuses a secret value (SECRETS_CACHE_TTL_SECONDS). */
  secretsCacheTtlSeconds?: number;
}

export function localStatePath(env: Record<string, string | undefined> = process.env): string {
  return env.CRM_BRIDGE_LOCAL_STATE ?? join(tmpdir(), 'crm-bridge', 'local-hub.json');
}

export function writeLocalState(state: LocalHubState, path = localStatePath()): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(state, null, 2), { mode: 0o600 });
}

/** Removes the state file, unless it names another process: a refused second hub must not delete the first one's. */
export function removeLocalState(path = localStatePath(), pid = process.pid): void {
  try {
    const recorded = (JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalHubState>).pid;
    if (recorded !== undefined && recorded !== pid && alive(recorded)) return;
  } catch {
    // missing or unreadable: nothing of another hub's to keep
  }
  rmSync(path, { force: true });
}

/** The hub recorded in the state file if its process is still alive (not this one), else undefined. */
export function runningHub(path = localStatePath()): LocalHubState | undefined {
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as LocalHubState;
    return state.pid !== process.pid && alive(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The running hub's state, or an Error telling the user to start one. */
export function readLocalState(path = localStatePath()): LocalHubState {
  let state: LocalHubState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as LocalHubState;
  } catch {
    throw new Error(`No local hub is running (no ${path}); start one with "npm start" in another terminal`);
  }
  if (!alive(state.pid))
    throw new Error(
      `The local hub recorded in ${path} (pid ${state.pid}) is no longer running; start it with "npm start"`,
    );
  return state;
}
