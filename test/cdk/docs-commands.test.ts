import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readConfig } from '../../lib/config';
import { synth } from './support';

/**
 * Every `cdk deploy` / `cdk synth` (or `npm run deploy` / `npm run synth`) command line the README and
 * docs/ show must synthesize with the context it passes: a newcomer copies them as they are.
 */
const ROOT = join(__dirname, '..', '..');
const DOCS = [
  join(ROOT, 'README.md'),
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(ROOT, 'docs', f)),
];

interface DocCommand {
  file: string;
  command: string;
  context: Record<string, string>;
}

const COMMAND = /(?:npx\s+)?cdk\s+(?:deploy|synth)\b|npm\s+run\s+(?:deploy|synth)\b/g;

/** The command at each match: to the end of its code span, its line, or a shell comment. */
export function commandsIn(text: string): Array<{ command: string; context: Record<string, string> }> {
  const joined = text.replace(/\\\n\s*/g, ' '); // shell line continuations
  const found: Array<{ command: string; context: Record<string, string> }> = [];
  for (const m of joined.matchAll(COMMAND)) {
    const rest = joined.slice(m.index);
    const end = rest.search(/`|\n|\s#\s|\s+\(|;|\|\|/);
    const command = (end < 0 ? rest : rest.slice(0, end)).trim();
    const context: Record<string, string> = {};
    for (const c of command.matchAll(/(?:^|\s)(?:-c|--context)[\s=]+([A-Za-z][\w-]*)=(\S+)/g))
      context[c[1]!] = c[2]!.replace(/^(['"])(.*)\1$/, '$2');
    found.push({ command, context });
  }
  return found;
}

/**
 * Inline context a doc tells the reader to deploy with (`-c key=value ...` in a code span), as one
 * command; spans with a placeholder value (`…`, `<...>`, `YOUR...`) are skipped, being no command.
 */
export function contextSpansIn(text: string): Array<{ command: string; context: Record<string, string> }> {
  return [...text.matchAll(/`(-c [^`]+)`/g)]
    .map((m) => m[1]!)
    .filter((span) => !/…|<|>|\.\.\.|=YOUR|key=value/.test(span) && /-c \w+=\S/.test(span))
    .map((span) => ({ command: `cdk deploy ${span}`, context: commandsIn(`cdk deploy ${span}`)[0]!.context }));
}

const commands: DocCommand[] = DOCS.flatMap((file) => {
  const text = readFileSync(file, 'utf8');
  return [...commandsIn(text), ...contextSpansIn(text)].map((c) => ({ file: relative(ROOT, file), ...c }));
});

describe('cdk command lines in the docs', () => {
  test('the parser finds the commands, with their context', () => {
    expect(commandsIn('run `npx cdk deploy -c stage=prod -c salesforceExternalId="x-1"` now')).toEqual([
      {
        command: 'npx cdk deploy -c stage=prod -c salesforceExternalId="x-1"',
        context: { stage: 'prod', salesforceExternalId: 'x-1' },
      },
    ]);
    expect(commandsIn('```bash\nnpm run deploy -- \\\n  -c stage=dev   # comment\n```')[0]!.context).toEqual({
      stage: 'dev',
    });
    expect(commands.length).toBeGreaterThanOrEqual(6);
    expect(
      commands.some(
        (c) => c.context.salesforcePrincipalArn && c.context.salesforceExternalId && c.context.stage !== 'dev',
      ),
    ).toBe(true);
    expect(commands.some((c) => c.context.apiAuth === 'apiKey')).toBe(true);
  });

  test('inline context the docs tell the reader to deploy with is checked too', () => {
    const old =
      'To trust only this user, redeploy with `-c salesforcePrincipalArn=arn:aws:iam::123456789012:user/crm-bridge-salesforce`; or `-c salesforceExternalId=<value>`.';
    const spans = contextSpansIn(old);
    expect(spans).toEqual([
      {
        command: 'cdk deploy -c salesforcePrincipalArn=arn:aws:iam::123456789012:user/crm-bridge-salesforce',
        context: { salesforcePrincipalArn: 'arn:aws:iam::123456789012:user/crm-bridge-salesforce' },
      },
    ]);
    expect(() => readConfig((k) => spans[0]!.context[k])).toThrow(/"salesforceExternalId" is required/);
  });

  test('a command a newcomer could not run is caught (the check below can fail)', () => {
    for (const bad of [
      'npx cdk deploy -c salesforcePrincipalArn=arn:aws:iam::123456789012:user/sf',
      'npx cdk deploy -c stage=prod',
    ]) {
      const { context } = commandsIn(bad)[0]!;
      expect(() => readConfig((k) => context[k])).toThrow(/salesforceExternalId/);
    }
  });

  test('every one synthesizes', () => {
    const failures: string[] = [];
    const seen = new Set<string>();
    for (const { file, command, context } of commands) {
      const key = JSON.stringify(context);
      if (seen.has(key)) continue; // the same context synthesizes the same stack
      seen.add(key);
      try {
        synth(context);
      } catch (err) {
        failures.push(`${file}: ${command}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});

describe('what the deployed API answers, as the docs tell it', () => {
  const { template } = synth();
  const guide = readFileSync(join(ROOT, 'docs', 'salesforce-setup.md'), 'utf8');

  test('ApiUrl has no trailing slash (it is the Named Credential URL as it is)', () => {
    // Render the Fn::Join with stand-ins for the references.
    const [sep, parts] = template.toJSON().Outputs.ApiUrl.Value['Fn::Join'] as [string, unknown[]];
    const url = parts.map((p) => (typeof p === 'string' ? p : 'REF')).join(sep);
    expect(url).toBe('https://REF.execute-api.eu-west-1.REF/REF');
  });

  test('an unknown path (missing authentication token) says the path may be wrong, and the troubleshooting table quotes it', () => {
    const found = Object.values(
      template.findResources('AWS::ApiGateway::GatewayResponse', {
        Properties: { ResponseType: 'MISSING_AUTHENTICATION_TOKEN' },
      }),
    );
    const body = JSON.parse(found[0]!.Properties.ResponseTemplates['application/json']) as {
      error: { code: string; message: string };
    };
    expect(body.error.code).toBe('FORBIDDEN');
    expect(body.error.message).toMatch(/path is wrong/);
    const table = guide.slice(guide.indexOf('## 3. Check the connection'), guide.indexOf('## 4.'));
    expect(table).toContain(`\`FORBIDDEN 403 ${body.error.message.split(' (')[0]} ...\``);
    expect(table).not.toContain('ROUTE_NOT_FOUND'); // API Gateway answers unknown paths itself; the router never sees them
  });

  test('step 7b.1 assigns the Salesforce API Integration permission set license before the permission sets', () => {
    const step = guide.slice(guide.indexOf('1. **The integration user**'), guide.indexOf('2. **The app**'));
    expect(step.indexOf('**Salesforce API Integration**')).toBeGreaterThan(0);
    expect(step.indexOf('**Salesforce API Integration**')).toBeLessThan(step.indexOf('**crm-bridge Integration**'));
  });

  test('step A2.5 names the exact fields of the principal', () => {
    const step = guide.slice(guide.indexOf('5. In the **Principals** section'), guide.indexOf('In the metadata ('));
    for (const field of [
      '**AWS Access Key ID**',
      '**AWS Secret Access Key**',
      '**IAM Role ARN**',
      '**SalesforceRoleArn**',
    ])
      expect(step).toContain(field);
    expect(guide).not.toMatch(/Where your org's form shows/);
  });
});
