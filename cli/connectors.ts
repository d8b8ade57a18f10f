import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Connector } from '../lambdas/connectors/schema';
import { CONNECTORS_TABLE_KEY } from '../lambdas/contract/storage';

// Loaded on use: the schema (zod, JMESPath, XML) is a quarter second that other commands need not pay.
// require, not import(): the CLI runs under tsx's CommonJS hook.
const schema = (): typeof import('../lambdas/connectors/schema') => require('../lambdas/connectors/schema');
const connectorStore = (): typeof import('../lambdas/adapters/connector-store') =>
  require('../lambdas/adapters/connector-store');
import { CliError, type Target } from './target';
import { withTarget, targetOptions } from './common';

/**
 * Reads and validates a connector file; errors name the JSON path of each bad field. Exit code 2 for invalid input.
 * `allowPrivate`: loopback/private targets pass without the row's network.allowPrivate (the local hub, and
 * `validate`, which cannot know the deployment); targets no deployment may call are always refused.
 */
export async function loadConnectorFile(file: string, allowPrivate = false): Promise<Connector> {
  const { parseConnector } = schema();
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`${file}: not readable JSON (${(err as Error).message})`, 2);
  }
  // "$schema" points editors at docs/connector.schema.json; it is not part of the row.
  if (raw && typeof raw === 'object' && '$schema' in raw) delete (raw as Record<string, unknown>).$schema;
  const parsed = parseConnector(raw, { allowPrivate });
  if (!parsed.ok) throw new CliError(`${file}: invalid connector\n${parsed.errors.map((e) => `  ${e}`).join('\n')}`, 2);
  return parsed.connector;
}

const store = async (t: Target) => new (connectorStore().ConnectorStore)(t.db, t.tables.connectors, 0);

async function setEnabled(t: Target, connectorId: string, enabled: boolean) {
  const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
  const { ConditionalCheckFailedException } = await import('@aws-sdk/client-dynamodb');
  try {
    await t.db.send(
      new UpdateCommand({
        TableName: t.tables.connectors,
        Key: { [CONNECTORS_TABLE_KEY]: connectorId },
        UpdateExpression: 'SET enabled = :e',
        ConditionExpression: 'attribute_exists(#id)',
        ExpressionAttributeNames: { '#id': CONNECTORS_TABLE_KEY },
        ExpressionAttributeValues: { ':e': enabled },
      }),
    );
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException)
      throw new CliError(`No connector "${connectorId}" in ${t.description}`);
    throw err;
  }
  console.error(
    `connector ${connectorId} ${enabled ? 'enabled' : 'disabled'} in ${t.description} (running Lambdas pick it up within their cache time)`,
  );
}

export function registerConnectorCommands(program: Command): void {
  const cmd = program
    .command('connectors')
    .description('Manage connector rows (validated against the connector schema)');

  cmd
    .command('validate')
    .argument('<file>', 'connector JSON file')
    .description('Check a connector file against the schema (no AWS needed)')
    .action(async (file: string) => {
      const c = await loadConnectorFile(file, true);
      console.log(
        `${file}: valid ${c.type} connector "${c.connectorId}" with operations ${Object.keys(c.operations).join(', ')}`,
      );
    });

  targetOptions(
    cmd
      .command('put')
      .argument('<file>', 'connector JSON file')
      .description('Validate a connector file and write it (creates or replaces the row)'),
  ).action(
    withTarget(async (t, file: string) => {
      const c = await loadConnectorFile(file, t.local === true);
      await (await store(t)).put(c);
      console.error(`connector ${c.connectorId} saved to ${t.description}`);
    }),
  );

  targetOptions(cmd.command('get').argument('<connectorId>').description('Print a connector row as JSON')).action(
    withTarget(async (t, id: string) => {
      const row = await (await store(t)).getRaw(id);
      if (!row) throw new CliError(`No connector "${id}" in ${t.description}`);
      console.log(JSON.stringify(row, null, 2));
    }),
  );

  targetOptions(cmd.command('list').description('List connectors (id, type, enabled, validity)')).action(
    withTarget(async (t) => {
      const rows = await (await store(t)).list();
      for (const row of rows) {
        const parsed = schema().parseConnector(row, { allowPrivate: t.local === true });
        const problem = parsed.ok ? '' : `  INVALID: ${parsed.errors.join('; ')}`;
        console.log(
          `${String(row.connectorId)}\t${String(row.type)}\t${row.enabled === false ? 'disabled' : 'enabled'}${problem}`,
        );
      }
      if (rows.length === 0) console.error(`no connectors in ${t.description}`);
    }),
  );

  targetOptions(
    cmd
      .command('delete')
      .argument('<connectorId>')
      .description('Delete a connector row (its secrets stay; remove them with "secrets delete")'),
  ).action(
    withTarget(async (t, id: string) => {
      if (!(await (await store(t)).delete(id))) throw new CliError(`No connector "${id}" in ${t.description}`);
      console.error(`connector ${id} deleted from ${t.description}`);
    }),
  );

  targetOptions(cmd.command('enable').argument('<connectorId>').description('Enable a connector')).action(
    withTarget((t, id: string) => setEnabled(t, id, true)),
  );
  targetOptions(
    cmd
      .command('disable')
      .argument('<connectorId>')
      .description('Disable a connector: new callouts get 409 CONNECTOR_DISABLED'),
  ).action(withTarget((t, id: string) => setEnabled(t, id, false)));
}
