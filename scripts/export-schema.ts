import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { connectorSchema } from '../lambdas/connectors/schema';

/**
 * Writes docs/connector.schema.json from the same zod schema the CLI and the
 * Lambdas validate with, for editors ("$schema" in a connector file).
 * `npm run schema` regenerates it; a test fails when it is stale.
 */
export function connectorJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(connectorSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://github.com/crm-bridge/crm-bridge/docs/connector.schema.json',
    title: 'crm-bridge connector row',
  };
}

export const SCHEMA_PATH = join(__dirname, '..', 'docs', 'connector.schema.json');

if (require.main === module) {
  writeFileSync(SCHEMA_PATH, `${JSON.stringify(connectorJsonSchema(), null, 2)}\n`);
  console.log(`wrote ${SCHEMA_PATH}`);
}
