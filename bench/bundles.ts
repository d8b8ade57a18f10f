import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';

/**
 * Bundles each Lambda entry the way the CDK stack does (esbuild, minified,
 * node22, CommonJS, AWS SDK left to the runtime) and times loading each bundle
 * in a fresh Node process: the cold-start cost of our own code.
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

export function runBundleBench(runs = 5): void {
  const outDir = join(ROOT, '.bench', 'bundles');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  console.log(`\n== Lambda bundles (esbuild minify, node22, cjs, @aws-sdk/* external); load = require() in a fresh node, median of ${runs}`);
  for (const entry of LAMBDA_ENTRIES) {
    const outfile = join(outDir, entry.replace(/^lambdas\//, '').replace(/\.ts$/, '.js'));
    buildSync({ entryPoints: [join(ROOT, entry)], bundle: true, minify: true, platform: 'node', target: 'node22', format: 'cjs', external: ['@aws-sdk/*'], outfile, logLevel: 'error' });
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const out = execFileSync(process.execPath, ['-e', `const t=process.hrtime.bigint();require(${JSON.stringify(outfile)});console.log(Number(process.hrtime.bigint()-t)/1e6)`], {
        cwd: ROOT,
        env: { ...process.env, ...DUMMY_ENV },
      });
      times.push(Number(out.toString().trim()));
    }
    times.sort((a, b) => a - b);
    console.log(`${entry.padEnd(22)} ${(statSync(outfile).size / 1024).toFixed(0).padStart(6)} KB   load ${times[Math.floor(runs / 2)]!.toFixed(0)} ms`);
  }
}
