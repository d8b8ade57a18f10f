import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { LAMBDA_BUNDLING } from '../lib/constructs/lambda-defaults';
import { synthBundles } from '../local/bundles';

/**
 * The Lambda bundles and their cold-load cost. Two figures per entry:
 * - deployed: the asset `cdk synth` produces (the stack's own bundling, AWS SDK inside),
 *   its size and the time to require() it in a fresh Node process;
 * - SDK external: the same esbuild options with the AWS SDK (@aws-sdk/*, @smithy/*) left
 *   out of the bundle: the size of our code and the other libraries; loading it still
 *   loads the SDK, from node_modules, as the bundles did from Lambda's runtime before.
 */
const ROOT = resolve(__dirname, '..');
export const LAMBDA_ENTRIES = ['lambdas/api.ts', 'lambdas/worker.ts'];

const DUMMY_ENV = {
  STAGE: 'bench',
  CONNECTORS_TABLE: 't',
  JOBS_TABLE: 't',
  JOBS_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/q',
  FILES_TABLE: 't',
  FILES_BUCKET: 'b',
  JOB_DATA_BUCKET: 'b',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** LAMBDA_BUNDLING's esbuild arguments (e.g. `--alias: a=b`) as esbuild API aliases. */
function aliases(): Record<string, string> {
  const raw = (LAMBDA_BUNDLING.esbuildArgs as Record<string, string>)['--alias'];
  return Object.fromEntries([raw ?? ''].flat().filter(Boolean).map((a) => a.split('=') as [string, string]));
}

/** Median wall-clock and CPU time (all threads of the process) of require(file) in a fresh Node. */
function loadTimes(file: string, runs: number): string {
  const wall: number[] = [];
  const cpu: number[] = [];
  const probe = `const c=process.cpuUsage(),t=process.hrtime.bigint();require(${JSON.stringify(file)});const u=process.cpuUsage(c);console.log(Number(process.hrtime.bigint()-t)/1e6,(u.user+u.system)/1e3)`;
  for (let i = 0; i < runs; i++) {
    const [w, c] = execFileSync(process.execPath, ['-e', probe], { cwd: ROOT, env: { ...process.env, ...DUMMY_ENV } }).toString().trim().split(' ').map(Number);
    wall.push(w!);
    cpu.push(c!);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(runs / 2)]!.toFixed(0).padStart(4);
  return `load ${median(wall)} ms (CPU ${median(cpu)} ms)`;
}

const kb = (file: string) => `${(statSync(file).size / 1024).toFixed(0).padStart(6)} KB`;

export function runBundleBench(runs = 5): void {
  const outDir = join(ROOT, '.bench', 'bundles');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const deployed = synthBundles();
  try {
    console.log(`\n== Lambda bundles (esbuild minify, ${LAMBDA_BUNDLING.target}, ${LAMBDA_BUNDLING.format}); load = require() in a fresh node, median of ${runs}`);
    console.log(`${'entry'.padEnd(22)} ${'deployed asset (cdk synth, SDK inside)'.padEnd(42)} SDK external (loaded from node_modules)`);
    for (const entry of LAMBDA_ENTRIES) {
      const asset = deployed.byEntry[entry];
      const outfile = join(outDir, entry.replace(/^lambdas\//, '').replace(/\.ts$/, '.js'));
      buildSync({
        entryPoints: [join(ROOT, entry)],
        bundle: true,
        minify: LAMBDA_BUNDLING.minify,
        platform: 'node',
        target: LAMBDA_BUNDLING.target,
        format: LAMBDA_BUNDLING.format,
        alias: aliases(),
        external: ['@aws-sdk/*', '@smithy/*'],
        outfile,
        logLevel: 'error',
      });
      const left = asset ? `${kb(asset)}   ${loadTimes(asset, runs)}` : '(no function in the stack)';
      console.log(`${entry.padEnd(22)} ${left.padEnd(42)} ${kb(outfile)}   ${loadTimes(outfile, runs)}`);
    }
  } finally {
    deployed.remove();
  }
}
