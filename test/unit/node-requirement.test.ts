import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';

/**
 * The Node requirement, derived from what is locked: package.json's engines must lie
 * within what every locked package declares, its lowest version must be the real
 * minimum, and the README and CI must say the same.
 *
 * Node 22 (Lambda's runtime) and 24 are supported for everything; Node 20 is
 * best-effort: what the Lambdas, the CLI and the hub run accepts it, but some dev
 * tools declare Node >= 22 (npm ci warns there).
 */
const ROOT = join(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const engines: string = pkg.engines.node;

interface Locked {
  name: string;
  range: string;
  dev: boolean;
}
const locked: Locked[] = Object.entries(lock.packages as Record<string, any>)
  .filter(([path, p]) => path !== '' && typeof p.engines?.node === 'string')
  .map(([path, p]) => ({ name: path.replace(/^.*node_modules\//, ''), range: p.engines.node, dev: p.dev === true }));
const runtime = locked.filter((p) => !p.dev);

/** The lowest version every range accepts: the candidates are the ranges' own lower bounds. */
function lowest(ranges: string[]): string | undefined {
  const candidates = ranges.flatMap((r) =>
    new semver.Range(r).set.map((set) => semver.minVersion(set.map((c) => c.value).join(' '))!.version),
  );
  return semver.sort([...new Set(candidates)]).find((v) => ranges.every((r) => semver.satisfies(v, r)));
}

/** engines' comparator sets that are supported (Node >= 22) and best-effort (older). */
const sets = new semver.Range(engines).set.map((set) => set.map((c) => c.value).join(' '));
const supported = sets.filter((s) => semver.minVersion(s)!.major >= 22).join(' || ');
const bestEffort = sets.filter((s) => semver.minVersion(s)!.major < 22).join(' || ');

test('every locked package (dev tools too) accepts every supported Node version', () => {
  expect(supported).not.toBe('');
  expect(locked.length).toBeGreaterThan(100);
  expect(locked.filter((p) => !semver.subset(supported, p.range)).map((p) => `${p.name}: ${p.range}`)).toEqual([]);
});

test('every locked package the Lambdas, the CLI and the hub run accepts every version engines allows', () => {
  expect(runtime.length).toBeGreaterThan(50);
  expect(runtime.filter((p) => !semver.subset(engines, p.range)).map((p) => `${p.name}: ${p.range}`)).toEqual([]);
});

test('the lowest version in engines is the real minimum, for everything and for what runs', () => {
  expect(semver.minVersion(supported)!.version).toBe(lowest(locked.map((p) => p.range)));
  expect(semver.minVersion(bestEffort || supported)!.version).toBe(lowest(runtime.map((p) => p.range)));
});

test('the README states the same versions', () => {
  const line = readme.split('\n').find((l) => /^Needs .*Node\.js/.test(l)) ?? '';
  for (const set of sets) {
    const min = semver.minVersion(set)!;
    expect(line).toContain(min.minor === 0 && min.patch === 0 ? `${min.major}` : `${min.major}.${min.minor}`);
  }
  expect(line).toMatch(/best-effort/);
});

test('.ci/run checks engines before npm ci with a reader that agrees with semver', () => {
  const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
  expect(ci.indexOf('node .ci/check-node.cjs')).toBeGreaterThan(-1);
  expect(ci.indexOf('node .ci/check-node.cjs')).toBeLessThan(ci.indexOf('npm ci'));
  const { satisfies } = require('../../.ci/check-node.cjs') as { satisfies: (v: string, r: string) => boolean };
  for (let major = 18; major <= 27; major++) {
    for (const minor of [0, 6, 12, 13, 19, 20]) {
      const v = `${major}.${minor}.1`;
      expect([v, satisfies(v, engines)]).toEqual([v, semver.satisfies(v, engines)]);
    }
  }
  expect(() => satisfies('22.0.0', '~22.1.0')).toThrow(/cannot read/);
});
