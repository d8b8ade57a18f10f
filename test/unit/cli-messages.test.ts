import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { formatIssues, parseConnector } from '../../lambdas/connectors/schema';
import { SsmSecretSource } from '../../lambdas/adapters/secrets';
import { takesEffect } from '../../cli/secrets';
import { connectorSchema } from '../../lambdas/connectors/schema';
import { RequestPreparationError } from '../../lambdas/shared/errors';

/** Messages an admin reads: each names what to do. */
const ROOT = join(__dirname, '..', '..');
const cli = (args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'cli/crm-bridge.cjs'), ...args], { cwd: ROOT, encoding: 'utf8' });

const missingParameter = {
  get: () => Promise.reject(Object.assign(new Error('not found'), { name: 'ParameterNotFound' })),
} as unknown as SSMProvider;

describe('SECRET_NOT_FOUND', () => {
  test('locally, the hint is the exact secrets put command with the value on stdin and --local', async () => {
    const err = await new SsmSecretSource(missingParameter, 'local').get('orders', 'token').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestPreparationError);
    expect((err as RequestPreparationError).message).toContain(
      `printf '%s' "$SECRET_VALUE" | npx crm-bridge secrets put orders token --local`,
    );
  });

  test('on a deployed stage, the same command with --stage', async () => {
    const err = (await new SsmSecretSource(missingParameter, 'prod')
      .get('orders', 'token')
      .catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(`| npx crm-bridge secrets put orders token --stage prod`);
    expect(err.message).toContain('/crm-bridge/prod/connectors/orders/token');
  });
});

describe('connectors validate', () => {
  test('a missing field is "required", whatever message its schema has for a wrong value', () => {
    const row = { connectorId: 'orders', type: 'rest', operations: { get: { path: '/x' } } };
    expect(parseConnector(row)).toEqual({
      ok: false,
      errors: ['$.baseUrl: is required', '$.operations.get.method: is required'],
    });
    // A wrong value keeps the schema's message.
    expect(parseConnector({ ...row, baseUrl: 'ftp://x', operations: { get: { path: '/x', method: 'GET' } } })).toEqual({
      ok: false,
      errors: ['$.baseUrl: must be an http(s) URL'],
    });
    // Without the input (other callers), messages are unchanged.
    const result = connectorSchema.safeParse(row);
    expect(result.success).toBe(false);
    if (!result.success) expect(formatIssues(result.error)).toContain('$.baseUrl: must be an http(s) URL');
  });

  test('the CLI prints it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-bridge-validate-'));
    try {
      const file = join(dir, 'orders.json');
      writeFileSync(
        file,
        JSON.stringify({ connectorId: 'orders', type: 'rest', operations: { get: { method: 'GET', path: '/x' } } }),
      );
      const r = cli(['connectors', 'validate', file]);
      expect(r.status).toBe(2);
      expect(r.stderr + r.stdout).toContain('$.baseUrl: is required');
      expect(r.stderr + r.stdout).not.toContain('must be an http(s) URL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('CLI basics', () => {
  test('--version prints the package version', () => {
    const r = cli(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe((require('../../package.json') as { version: string }).version);
  }, 30_000);

  test('files list shows --record-id as required', () => {
    const r = cli(['files', 'list', '--help']);
    expect(r.stdout).toMatch(/Usage: crm-bridge files list --record-id <id>/);
    expect(r.stdout).toMatch(/--record-id <id>\s+CRM record id \(required\)/);
  }, 30_000);

  test('secrets put and delete say when the change takes effect', () => {
    expect(takesEffect({ secretsCacheTtlSeconds: 1, description: 'local hub at http://127.0.0.1:3000' })).toBe(
      "jobs use it within 1 s (the local hub at http://127.0.0.1:3000's SECRETS_CACHE_TTL_SECONDS)",
    );
    expect(takesEffect({ description: 'stack CrmBridge-dev' })).toMatch(
      /warm workers within SECRETS_CACHE_TTL_SECONDS \(300 s/,
    );
  });
});
