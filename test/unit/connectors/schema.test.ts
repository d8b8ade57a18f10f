import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectorSchema, parseConnector } from '../../../lambdas/connectors/schema';
import { connectorJsonSchema, SCHEMA_PATH } from '../../../scripts/export-schema';

const docs = readFileSync(join(__dirname, '../../../docs/connectors.md'), 'utf8');
const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
const salesforceDocs = ['salesforce-connector.md', 'salesforce-setup.md', 'files.md'].map((f) =>
  readFileSync(join(__dirname, '../../../docs', f), 'utf8'),
);

/** JSON code blocks that look like connector rows (blocks that are fragments of a row, not starting with "{", are left out). */
function rows(markdown: string): Array<Record<string, unknown>> {
  return [...markdown.matchAll(/```json\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .filter((block) => block.trimStart().startsWith('{'))
    .map((block) => JSON.parse(block))
    .filter((v) => v && typeof v === 'object' && 'connectorId' in v);
}

test('every example row in docs/connectors.md and the README is valid, one per type at least', () => {
  const examples = [...rows(docs), ...rows(readme)];
  for (const row of examples) {
    // As `connectors validate` checks them: the README's local example calls 127.0.0.1.
    const parsed = parseConnector(row, { allowPrivate: true });
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
  }
  const types = new Set(examples.map((r) => r.type));
  for (const t of connectorSchema.options.map((o) => o.shape.type.value)) expect(types).toContain(t);
});

test('every example row in the Salesforce and files docs is valid', () => {
  const examples = salesforceDocs.flatMap(rows);
  expect(examples.length).toBeGreaterThanOrEqual(3);
  for (const row of examples) {
    const parsed = parseConnector(row);
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
  }
});

test('the committed JSON Schema matches the zod schema (run `npm run schema` after changing it)', () => {
  expect(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'))).toEqual(JSON.parse(JSON.stringify(connectorJsonSchema())));
});

test('defaults are applied and errors carry JSON paths', () => {
  const ok = parseConnector({
    connectorId: 'a',
    type: 'viber',
    authToken: { secret: 't' },
    sender: { name: 'Bot' },
    operations: { s: { action: 'sendMessage' } },
  });
  expect(ok).toMatchObject({
    ok: true,
    connector: { enabled: true, baseUrl: 'https://chatapi.viber.com/pa', retry: { maxAttempts: 3 } },
  });
  const bad = parseConnector({ connectorId: 'a', type: 'slack', operations: { n: { action: 'postMessage' } } });
  expect(bad).toEqual({ ok: false, errors: ['$.botToken: is required by postMessage operations'] });
  const unknownType = parseConnector({ connectorId: 'a', type: 'ftp' });
  expect(unknownType.ok).toBe(false);
  const secretInline = parseConnector({
    connectorId: 'a',
    type: 'rest',
    baseUrl: 'https://x',
    auth: { type: 'basic', username: 'u', password: 'plain' },
    operations: { g: { method: 'GET', path: '/' } },
  });
  expect(secretInline.ok ? [] : secretInline.errors.join()).toMatch(/\$\.auth\.password/);
  const soap = parseConnector({
    connectorId: 'a',
    type: 'soap',
    wsdlUrl: 'https://x/?wsdl',
    operations: { o: { operation: 'Add', service: 'Calculator' } },
  });
  expect(soap.ok ? [] : soap.errors).toEqual(['$.operations.o.port: service and port go together']);
});

test('REST operations: idempotencyKeyHeader defaults to Idempotency-Key, takes a header name or false, refuses anything else', () => {
  const rest = (op: Record<string, unknown>) =>
    parseConnector({
      connectorId: 'a',
      type: 'rest',
      baseUrl: 'https://x',
      operations: { g: { method: 'POST', path: '/', ...op } },
    });
  expect(rest({})).toMatchObject({
    ok: true,
    connector: { operations: { g: { idempotencyKeyHeader: 'Idempotency-Key' } } },
  });
  expect(rest({ idempotencyKeyHeader: 'X-Request-Id' })).toMatchObject({
    ok: true,
    connector: { operations: { g: { idempotencyKeyHeader: 'X-Request-Id' } } },
  });
  expect(rest({ idempotencyKeyHeader: false })).toMatchObject({
    ok: true,
    connector: { operations: { g: { idempotencyKeyHeader: false } } },
  });
  for (const bad of [true, '', 'Bad Header', 'x\r\ny', 'a'.repeat(129)]) {
    const parsed = rest({ idempotencyKeyHeader: bad });
    expect(parsed.ok ? [] : parsed.errors.join()).toMatch(/\$\.operations\.g\.idempotencyKeyHeader/);
  }
});
