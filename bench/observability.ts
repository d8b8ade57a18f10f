import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { LAMBDA_BUNDLING, LAZY_MODULES } from '../lib/constructs/lambda-defaults';
import { DUMMY_ENV } from './handler-env';

/**
 * What metrics and tracing add to a handler's cold load (issue 13: at most 10 ms):
 * the worker bundled as the stack bundles it (SDK inside), and again with the
 * Powertools Metrics library and lambdas/domain/traceparent.ts replaced by empty
 * stand-ins; require() of each in a fresh node, interleaved, median of `runs`.
 */
const ROOT = resolve(__dirname, '..');

const STUBS = {
  metrics: `exports.MetricUnit = new Proxy({}, { get: (_, k) => k });
exports.Metrics = class { clearDefaultDimensions() {} setDefaultDimensions() {} addMetric() {} publishStoredMetrics() {} };`,
  traceparent: `exports.parseTraceparent = () => undefined; exports.childTraceparent = (t) => t; exports.newTraceparent = () => '';`,
};

/** Resolves the metrics library and the trace module to the stand-ins. */
function without(dir: string): Plugin {
  const files = Object.fromEntries(Object.entries(STUBS).map(([name]) => [name, join(dir, `${name}-stub.js`)]));
  for (const [name, code] of Object.entries(STUBS)) writeFileSync(files[name]!, code);
  return {
    name: 'without-observability',
    setup(b) {
      b.onResolve({ filter: /^@aws-lambda-powertools\/metrics$/ }, () => ({ path: files.metrics! }));
      b.onResolve({ filter: /\/traceparent$/ }, () => ({ path: files.traceparent! }));
    },
  };
}

async function bundle(
  outfile: string,
  plugins: Plugin[],
  entry: { file: string } | { code: string } = { file: 'lambdas/worker.ts' },
): Promise<string> {
  const args = LAMBDA_BUNDLING.esbuildArgs as Record<string, string>;
  await build({
    ...('file' in entry
      ? { entryPoints: [join(ROOT, entry.file)] }
      : { stdin: { contents: entry.code, resolveDir: ROOT, loader: 'ts' as const } }),
    outfile,
    bundle: true,
    minify: LAMBDA_BUNDLING.minify,
    platform: 'node',
    target: LAMBDA_BUNDLING.target,
    format: LAMBDA_BUNDLING.format,
    alias: Object.fromEntries([args['--alias']!.split('=') as [string, string]]),
    supported: { 'dynamic-import': false },
    external: [...LAZY_MODULES],
    plugins,
    logLevel: 'error',
    absWorkingDir: ROOT,
  });
  return outfile;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Returns the median difference (ms) of the worker's require() with and without metrics and tracing. */
export async function runObservabilityBench(runs = 9): Promise<number> {
  const dir = join(ROOT, '.bench', 'observability');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = {
    with: await bundle(join(dir, 'worker.js'), []),
    without: await bundle(join(dir, 'worker-without.js'), [without(dir)]),
    // The pieces alone (with the Powertools commons the Logger already loads in the worker: an upper bound).
    alone: await bundle(join(dir, 'alone.js'), [], {
      code: "require('@aws-lambda-powertools/metrics'); require('./lambdas/domain/traceparent');",
    }),
    empty: await bundle(join(dir, 'empty.js'), [], { code: 'module.exports = {};' }),
  };
  const times: Record<keyof typeof files, number[]> = { with: [], without: [], alone: [], empty: [] };
  for (let i = 0; i < runs; i += 1) {
    for (const key of ['with', 'without', 'alone', 'empty'] as const) {
      const code = `const t=process.hrtime.bigint();require(${JSON.stringify(files[key])});console.log(Number(process.hrtime.bigint()-t)/1e6)`;
      times[key].push(
        Number(
          execFileSync(process.execPath, ['-e', code], { cwd: ROOT, env: { ...process.env, ...DUMMY_ENV } })
            .toString()
            .trim(),
        ),
      );
    }
  }
  const kb = (f: string) => (statSync(f).size / 1024).toFixed(0);
  const diff = median(times.with.map((t, i) => t - times.without[i]!));
  console.log(
    `observability: worker cold load (require() in a fresh node, median of ${runs}, interleaved; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  console.log(
    `  with metrics + tracing ${median(times.with).toFixed(1)} ms (${kb(files.with)} KB) | without ${median(times.without).toFixed(1)} ms (${kb(files.without)} KB)`,
  );
  console.log(
    `  added: ${diff.toFixed(1)} ms median of paired runs (target <= 10 ms: ${diff <= 10 ? 'met' : 'NOT met'}; on a busy machine the worker's own spread hides it)`,
  );
  const alone = median(times.alone.map((t, i) => t - times.empty[i]!));
  console.log(
    `  the pieces alone: ${alone.toFixed(1)} ms over an empty bundle (${kb(files.alone)} KB; includes the commons the Logger shares) (target <= 10 ms: ${alone <= 10 ? 'met' : 'NOT met'})`,
  );
  rmSync(dir, { recursive: true, force: true });
  return diff;
}
