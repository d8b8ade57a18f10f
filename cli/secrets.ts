import type { Command } from 'commander';
import { readStdin, targetOptions, withTarget } from './common';
import { CliError, type Target } from './target';
import { connectorSecretsPath, secretParameterName } from '../lambdas/contract/stack';
import { INT_SETTINGS } from '../lambdas/contract/env';

// The SSM client module and the schemas (zod, JMESPath) load when a secrets command runs, not for every CLI start.
const ssmSdk = () => import('@aws-sdk/client-ssm');
const common = (): typeof import('../lambdas/connectors/common') => require('../lambdas/connectors/common');

/** When a changed secret reaches the jobs: workers cache values (SECRETS_CACHE_TTL_SECONDS). */
export function takesEffect(t: Pick<Target, 'secretsCacheTtlSeconds' | 'description'>): string {
  if (t.secretsCacheTtlSeconds !== undefined && Number.isFinite(t.secretsCacheTtlSeconds)) {
    return `jobs use it within ${t.secretsCacheTtlSeconds} s (the ${t.description}'s SECRETS_CACHE_TTL_SECONDS)`;
  }
  return `new workers use it at once; warm workers within SECRETS_CACHE_TTL_SECONDS (${INT_SETTINGS.SECRETS_CACHE_TTL_SECONDS.default} s unless the stack sets another value)`;
}

function checked(connectorId: string, name?: string) {
  const { connectorIdSchema, secretNameSchema } = common();
  if (!connectorIdSchema.safeParse(connectorId).success)
    throw new CliError(`connector id "${connectorId}" is not valid`, 2);
  if (name !== undefined && !secretNameSchema.safeParse(name).success)
    throw new CliError(`secret name "${name}" is not valid (letters, digits, ".", "-", "_")`, 2);
}

export function registerSecretCommands(program: Command): void {
  const cmd = program
    .command('secrets')
    .description('Manage connector secrets (SSM SecureString parameters; values are never printed)');

  targetOptions(
    cmd
      .command('put')
      .argument('<connectorId>')
      .argument('<name>')
      .description('Store a secret; the value is read from stdin'),
  ).action(
    withTarget(async (t, connectorId: string, name: string) => {
      checked(connectorId, name);
      const { PutParameterCommand } = await ssmSdk();
      if (process.stdin.isTTY) console.error('Type the secret value, then Ctrl-D:');
      const value = (await readStdin()).replace(/\r?\n$/, '');
      if (value === '') throw new CliError('No secret value on stdin', 2);
      const parameter = secretParameterName(t.stage, connectorId, name);
      await t.ssm.send(
        new PutParameterCommand({ Name: parameter, Value: value, Type: 'SecureString', Overwrite: true }),
      );
      console.error(`secret ${name} of ${connectorId} stored as ${parameter} in ${t.description}; ${takesEffect(t)}`);
    }),
  );

  targetOptions(cmd.command('list').argument('[connectorId]').description('List secret names (never values)')).action(
    withTarget(async (t, connectorId?: string) => {
      if (connectorId) checked(connectorId);
      const { GetParametersByPathCommand } = await ssmSdk();
      const path = connectorSecretsPath(t.stage, connectorId || undefined);
      let token: string | undefined;
      do {
        const page = await t.ssm.send(
          new GetParametersByPathCommand({ Path: path, Recursive: true, WithDecryption: false, NextToken: token }),
        );
        for (const p of page.Parameters ?? []) {
          const [cid, name] = p.Name!.slice(connectorSecretsPath(t.stage).length).split('/');
          console.log(`${cid}\t${name}\t${p.Type}\tversion ${p.Version}`);
        }
        token = page.NextToken;
      } while (token);
    }),
  );

  targetOptions(
    cmd.command('delete').argument('<connectorId>').argument('<name>').description('Delete a secret'),
  ).action(
    withTarget(async (t, connectorId: string, name: string) => {
      checked(connectorId, name);
      const { DeleteParameterCommand, ParameterNotFound } = await ssmSdk();
      try {
        await t.ssm.send(new DeleteParameterCommand({ Name: secretParameterName(t.stage, connectorId, name) }));
      } catch (err) {
        if (err instanceof ParameterNotFound)
          throw new CliError(`No secret ${name} for connector ${connectorId} in ${t.description}`);
        throw err;
      }
      console.error(
        `secret ${name} of ${connectorId} deleted from ${t.description}; ${takesEffect(t).replace('use it', 'stop using it')}`,
      );
    }),
  );
}
