import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * `npm run lint:deps` passes on the tree only if its rules can fail: here the
 * project's .dependency-cruiser.cjs cruises a small tree laid out like the
 * project, with imports that break the rules of docs/architecture.md beside
 * imports that keep them, and must name exactly the broken ones.
 */
const ROOT = resolve(__dirname, '../..');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

const FILES: Record<string, string> = {
  'tsconfig.json': '{ "compilerOptions": { "module": "commonjs", "strict": true } }',
  // kept: the domain calls connectors; delivery and files use the domain; shared is a leaf
  'lambdas/shared/ids.ts': 'export const ID = /^x$/;\n',
  'lambdas/connectors/upstream-http.ts': "import { ID } from '../shared/ids';\nexport const send = () => ID;\n",
  'lambdas/domain/job.ts':
    "import { send } from '../connectors/upstream-http';\nexport interface Port { run(): void }\nexport const job = send;\n",
  'lambdas/delivery/delivery.ts': "import type { Port } from '../domain/job';\nexport const d: Port = { run() {} };\n",
  'lambdas/worker.ts': "import { d } from './delivery/delivery';\nexport const handler = d;\n",
  // kept: an adapter implements a domain port with the AWS SDK
  'lambdas/adapters/queue.ts':
    "import type { SQSClient } from '@aws-sdk/client-sqs';\nimport type { Port } from '../domain/job';\nexport const q = (c: SQSClient): Port => ({ run() { void c; } });\n",
  // broken: the domain wiring an adapter itself
  'lambdas/domain/wiring.ts': "import { q } from '../adapters/queue';\nexport const w = q;\n",
  // broken: the domain calling the AWS SDK (type-only imports count)
  'lambdas/domain/sdk.ts': "import type { SQSClient } from '@aws-sdk/client-sqs';\nexport type Q = SQSClient;\n",
  // broken: the file service calling the AWS SDK itself, and wiring an adapter
  'lambdas/files/scan.ts':
    "import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nexport type Db = DynamoDBClient;\n",
  'lambdas/files/wiring.ts': "import { q } from '../adapters/queue';\nexport const f = q;\n",
  // broken: a connector reaching up into the domain (the old parseRetryAfter arrow)
  'lambdas/connectors/retry.ts': "import { job } from '../domain/job';\nexport const r = job;\n",
  // broken: the domain importing a delivery type (type-only imports count)
  'lambdas/domain/runner.ts':
    "import type { Helper } from '../delivery/helper';\nexport const h: Helper | undefined = undefined;\n",
  'lambdas/delivery/helper.ts': 'export type Helper = string;\n',
  // broken: two connector files whose types import each other
  'lambdas/connectors/a.ts': "import type { B } from './b';\nexport type A = B | 'a';\n",
  'lambdas/connectors/b.ts': "import type { A } from './a';\nexport type B = Exclude<A, 'a'> | 'b';\n",
  // broken: bench taking a helper from test/
  'test/support/fake.ts': 'export const fake = 1;\n',
  'bench/run.ts': "import { fake } from '../test/support/fake';\nexport const n = fake;\n",
  // broken: lambda code importing the CDK app
  'lib/stack.ts': 'export const stack = 1;\n',
  'lambdas/shared/env.ts': "import { stack } from '../../lib/stack';\nexport const s = stack;\n",
};

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dep-rules-'));
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the import rules name each wrong-way import, and only those', async () => {
  // The same command as `npm run lint:deps`, run where the fixture tree is.
  const run = promisify(execFile)(
    process.execPath,
    [DEPCRUISE, 'lambdas', 'bench', 'lib', '--config', join(ROOT, '.dependency-cruiser.cjs')],
    { cwd: dir },
  );
  const failure = (await run.then(
    () => undefined,
    (err: unknown) => err,
  )) as { code?: number; stdout?: string } | undefined;
  // A violation makes the command exit non-zero: that is what fails `npm test`.
  expect(failure?.code).toBeGreaterThan(0);
  // "error RULE: FROM → TO" (a circle goes on over more lines: its first step is enough here).
  const found = [...failure!.stdout!.matchAll(/error ([\w-]+): (\S+) →\s+(\S+)/g)]
    .map(([, rule, from, to]) => `${rule}: ${from} -> ${to}`)
    .sort();
  expect(found).toEqual(
    [
      'aws-sdk-in-adapters: lambdas/domain/sdk.ts -> @aws-sdk/client-sqs',
      'aws-sdk-in-adapters: lambdas/files/scan.ts -> @aws-sdk/client-dynamodb',
      'files-knows-no-adapters: lambdas/files/wiring.ts -> lambdas/adapters/queue.ts',
      'connectors-below-domain: lambdas/connectors/retry.ts -> lambdas/domain/job.ts',
      'domain-knows-no-adapters: lambdas/domain/wiring.ts -> lambdas/adapters/queue.ts',
      'domain-knows-no-edge: lambdas/domain/runner.ts -> lambdas/delivery/helper.ts',
      'lambdas-only-lambdas: lambdas/shared/env.ts -> lib/stack.ts',
      'no-circular: lambdas/connectors/a.ts -> lambdas/connectors/b.ts',
      'tools-not-tests: bench/run.ts -> test/support/fake.ts',
    ].sort(),
  );
});
