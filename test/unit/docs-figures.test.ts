import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MAX_RECEIVE_COUNT, MAX_CONNECTOR_ATTEMPTS, WORST_CASE_RECEIVES } from '../../lambdas/contract/queue';
import { INT_SETTINGS } from '../../lambdas/contract/env';
import { LOCAL_SECRETS_CACHE_TTL_SECONDS } from '../../local/hub';

/**
 * Figures the docs repeat must be the code's (or, for measured figures, the README's): one source of truth.
 */
const ROOT = join(__dirname, '..', '..');
const FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const texts = FILES.map((file) => ({ file, text: readFileSync(join(ROOT, file), 'utf8') }));

/** Every capture of `pattern` in the docs, with its file. */
function figures(pattern: RegExp): Array<{ file: string; value: string }> {
  return texts.flatMap(({ file, text }) =>
    [...text.matchAll(pattern)].map((m) => ({ file, value: m.slice(1).find((g) => g !== undefined)! })),
  );
}

describe('figures in the README and docs/', () => {
  test('maxReceiveCount: every default the docs state is DEFAULT_MAX_RECEIVE_COUNT', () => {
    const found = figures(
      /`maxReceiveCount`\s*\((\d+)[^)]*\)|`maxReceiveCount`\s*\|\s*`(\d+)`|`MAX_RECEIVE_COUNT`\s*\|\s*(\d+)|after (\d+) receives|the default (\d+) leaves/g,
    );
    expect(found.length).toBeGreaterThanOrEqual(5);
    expect(found.filter((f) => Number(f.value) !== DEFAULT_MAX_RECEIVE_COUNT)).toEqual([]);
  });

  test('the worst case of a job still retrying is WORST_CASE_RECEIVES', () => {
    const found = figures(
      /needs at most (\d+)\b(?! \+)|(\d+) at the largest settings|(\d+) in all, so `cdk synth` refuses less|dead-letter queue \((\d+)[–-]1000\)/g,
    );
    expect(found.length).toBeGreaterThanOrEqual(3);
    expect(found.filter((f) => Number(f.value) !== WORST_CASE_RECEIVES)).toEqual([]);
    expect(figures(/largest `retry\.maxAttempts` \((\d+)\)/g).map((f) => Number(f.value))).toEqual([
      MAX_CONNECTOR_ATTEMPTS,
    ]);
  });

  test("the CLI's process start is stated once, in the README's benchmark table, and nowhere with another figure", () => {
    const found = figures(
      /CLI's (?:fixed )?(?:process )?start \((?:about|~) ?([\d.]+) s|CLI's ~?([\d.]+) s (?:process )?start/g,
    );
    expect(found.filter((f) => f.file === 'README.md').length).toBeGreaterThanOrEqual(1);
    expect(new Set(found.map((f) => f.value)).size).toBe(1);
    expect(found.filter((f) => f.file !== 'README.md')).toEqual([]);
  });

  test("the secrets cache in the README's tables is the contract's default and the local hub's", () => {
    const readme = texts.find((t) => t.file === 'README.md')!.text;
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('### Register your own service'));
    const documented = /\| `SECRETS_CACHE_TTL_SECONDS` \| (\d+) \|/.exec(quick)?.[1];
    const code = String(LOCAL_SECRETS_CACHE_TTL_SECONDS);
    expect(documented).toBe(code);
    expect(readme).toMatch(
      new RegExp(
        `\\| \`SECRETS_CACHE_TTL_SECONDS\` \\| ${INT_SETTINGS.SECRETS_CACHE_TTL_SECONDS.default} \\(${code} locally\\)`,
      ),
    );
  });

  test('the README says how to run the CLI safely: from the repository root, or npm link / the launcher path', () => {
    const readme = texts.find((t) => t.file === 'README.md')!.text;
    expect(readme).toContain('from the repository root');
    expect(readme).toContain('`npm link`');
    expect(readme).toContain('node /path/to/crm-bridge/cli/crm-bridge.cjs');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['crm-bridge']).toBe('cli/crm-bridge.cjs');
  });

  test('the checks above find a wrong figure', () => {
    const wrong = [
      ...'count against the `maxReceiveCount` (15) like'.matchAll(/`maxReceiveCount`\s*\((\d+)[^)]*\)/g),
    ].map((m) => Number(m[1]));
    expect(wrong).toEqual([15]);
    expect(
      [..."without the CLI's ~0.6 s process start".matchAll(/CLI's ~?([\d.]+) s (?:process )?start/g)].map((m) => m[1]),
    ).toEqual(['0.6']);
  });
});
