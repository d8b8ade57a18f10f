import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { LAMBDA_BUNDLING, LAZY_MODULES } from '../lib/constructs/lambda-defaults';
import { synthBundles } from '../local/bundles';
import { DUMMY_ENV } from './handler-env';

/**
 * The Lambda bundles and their cold-load cost, each next to a baseline: a bundle
 * that only creates the SDK clients the handler creates (issue 15's floor).
 * - SDK external: the stack's esbuild options with the AWS SDK (@aws-sdk/*, @smithy/*)
 *   left out, for handler and baseline alike: the size and load ratio of our own code
 *   and libraries (the targets); loading still loads the SDK, from node_modules;
 * - deployed: the asset `cdk synth` produces (SDK inside; lazy libraries as files of
 *   their own, read on first use), its baseline built the same way, and the asset's load
 *   with NODE_OPTIONS=--enable-source-maps as COMMON_ENVIRONMENT ships it.
 * Load = require() in a fresh node; the runs of all files are interleaved, so a busy
 * machine slows them alike; median and (min–max) of the runs.
 */
const ROOT = resolve(__dirname, '..');
export const LAMBDA_ENTRIES = ['lambdas/api.ts', 'lambdas/worker.ts'];

/** The SDK clients each handler creates at load (lambdas/shared/clients.ts, ssm-client.ts), and the targets of issue 15. */
const HANDLERS: Record<string, { clients: Array<keyof typeof CLIENT_CODE>; maxKb: number; maxRatio: number }> = {
  'lambdas/api.ts': { clients: ['dynamodb', 'sqs', 's3'], maxKb: 300, maxRatio: 1.25 },
  'lambdas/worker.ts': { clients: ['dynamodb', 'sqs', 'ssm', 's3'], maxKb: 500, maxRatio: 1.25 },
};
const CLIENT_CODE = {
  dynamodb: `const { DynamoDBClient } = require('@aws-sdk/client-dynamodb'); const { DynamoDBDocumentClient } = require('@aws-sdk/lib-dynamodb');
clients.push(new DynamoDBClient({}), DynamoDBDocumentClient.from(new DynamoDBClient({})));`,
  sqs: `const { SQSClient } = require('@aws-sdk/client-sqs'); clients.push(new SQSClient({}));`,
  ssm: `const { SSMClient } = require('@aws-sdk/client-ssm'); clients.push(new SSMClient({}));`,
  s3: `const { S3Client } = require('@aws-sdk/client-s3'); clients.push(new S3Client({}));`,
};

/** LAMBDA_BUNDLING's esbuild arguments as esbuild API options. */
function esbuildOptions(sdkExternal: boolean) {
  const args = LAMBDA_BUNDLING.esbuildArgs as Record<string, string>;
  const alias = Object.fromEntries(
    [args['--alias'] ?? '']
      .flat()
      .filter(Boolean)
      .map((a) => a.split('=') as [string, string]),
  );
  const supported = Object.fromEntries(
    Object.entries(args)
      .filter(([k]) => k.startsWith('--supported:'))
      .map(([k, v]) => [k.slice('--supported:'.length), v === 'true']),
  );
  return {
    bundle: true,
    minify: LAMBDA_BUNDLING.minify,
    platform: 'node' as const,
    target: LAMBDA_BUNDLING.target,
    format: LAMBDA_BUNDLING.format,
    alias,
    supported,
    external: [...(sdkExternal ? ['@aws-sdk/*', '@smithy/*'] : []), ...LAZY_MODULES],
    logLevel: 'error' as const,
  };
}

interface Probe {
  file: string;
  nodeArgs: string[];
  wall: number[];
  cpu: number[];
}

/** Runs each probe `runs` times, interleaved: require(file) in a fresh node, wall-clock and CPU (all threads). */
function measure(probes: Probe[], runs: number): void {
  for (let i = 0; i < runs; i++) {
    for (const p of probes) {
      const code = `const c=process.cpuUsage(),t=process.hrtime.bigint();require(${JSON.stringify(p.file)});const u=process.cpuUsage(c);console.log(Number(process.hrtime.bigint()-t)/1e6,(u.user+u.system)/1e3)`;
      const [w, c] = execFileSync(process.execPath, [...p.nodeArgs, '-e', code], {
        cwd: ROOT,
        env: { ...process.env, ...DUMMY_ENV },
      })
        .toString()
        .trim()
        .split(' ')
        .map(Number);
      p.wall.push(w!);
      p.cpu.push(c!);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (p: Probe) =>
  `${median(p.wall).toFixed(0).padStart(4)} ms (${Math.min(...p.wall).toFixed(0)}–${Math.max(...p.wall).toFixed(0)}) CPU ${median(p.cpu).toFixed(0).padStart(3)}`;
const probe = (file: string, nodeArgs: string[] = []): Probe => ({ file, nodeArgs, wall: [], cpu: [] });
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0).padStart(5)} KB`;

/** Bytes of the files under dir, code and source maps apart. */
function dirSize(dir: string): { code: number; maps: number } {
  const total = { code: 0, maps: 0 };
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const size = statSync(join(e.parentPath, e.name)).size;
    if (e.name.endsWith('.map')) total.maps += size;
    else total.code += size;
  }
  return total;
}

export function runBundleBench(runs = 9): void {
  const outDir = join(ROOT, '.bench', 'bundles');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const deployed = synthBundles();
  try {
    const rows = LAMBDA_ENTRIES.map((entry) => {
      const name = entry.replace(/^lambdas\//, '').replace(/\.ts$/, '');
      const handler = HANDLERS[entry]!;
      const baselineSrc = join(outDir, `baseline-${name}.js`);
      writeFileSync(
        baselineSrc,
        `const clients = [];\n${handler.clients.map((c) => CLIENT_CODE[c]).join('\n')}\nexports.handler = async () => clients.length;\n`,
      );
      const build = (entryPoint: string, outfile: string, sdkExternal: boolean) => {
        buildSync({ ...esbuildOptions(sdkExternal), entryPoints: [entryPoint], outfile, absWorkingDir: ROOT });
        return outfile;
      };
      const ext = build(join(ROOT, entry), join(outDir, `${name}.js`), true);
      const baseExt = build(baselineSrc, join(outDir, `baseline-${name}.sdk-external.js`), true);
      const baseDeployed = build(baselineSrc, join(outDir, `baseline-${name}.sdk-bundled.js`), false);
      const asset = deployed.byEntry[entry];
      return {
        entry,
        handler,
        ext: probe(ext),
        baseExt: probe(baseExt),
        asset: asset ? probe(asset) : undefined,
        assetMaps: asset ? probe(asset, ['--enable-source-maps']) : undefined,
        baseDeployed: probe(baseDeployed),
      };
    });
    measure(
      rows.flatMap((r) => [r.ext, r.baseExt, r.asset, r.assetMaps, r.baseDeployed].filter((p): p is Probe => !!p)),
      runs,
    );

    console.log(
      `\n== Lambda cold load (esbuild minify, ${LAMBDA_BUNDLING.target}, ${LAMBDA_BUNDLING.format}); require() in a fresh node, median (min–max) of ${runs}, runs interleaved; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    console.log('baseline: a bundle that only creates the SDK clients the handler creates, built the same way');
    console.log('\n-- SDK external (@aws-sdk/*, @smithy/* from node_modules, as the baseline): our code and libraries');
    console.log(
      `${'entry'.padEnd(20)} ${'index.js'.padEnd(10)} ${'target'.padEnd(9)} ${'load'.padEnd(30)} ${'baseline load'.padEnd(30)} ratio wall  CPU    target`,
    );
    for (const r of rows) {
      const size = statSync(r.ext.file).size;
      // Wall-clock is the target's measure; CPU time is printed too: on a busy machine it varies far less.
      const ratio = median(r.ext.wall) / median(r.baseExt.wall);
      const cpuRatio = median(r.ext.cpu) / median(r.baseExt.cpu);
      const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
      console.log(
        `${r.entry.padEnd(20)} ${kb(size).padEnd(10)} ${`<=${r.handler.maxKb} ${ok(size <= r.handler.maxKb * 1024)}`.padEnd(9)} ${ms(r.ext).padEnd(30)} ${ms(r.baseExt).padEnd(30)} ${ratio.toFixed(2)}x ${ok(ratio <= r.handler.maxRatio).padEnd(6)} ${cpuRatio.toFixed(2)}x ${ok(cpuRatio <= r.handler.maxRatio).padEnd(6)} <=${r.handler.maxRatio}x`,
      );
    }
    console.log('\n-- deployed asset (cdk synth: SDK inside, lazy libraries in node_modules/ read on first use)');
    console.log(
      `${'entry'.padEnd(20)} ${'index.js'.padEnd(9)} ${'asset code'.padEnd(11)} ${'maps'.padEnd(9)} ${'load'.padEnd(30)} ${'load --enable-source-maps'.padEnd(30)} ${'baseline (SDK inside)'.padEnd(30)} ratio`,
    );
    for (const r of rows) {
      if (!r.asset || !r.assetMaps) {
        console.log(`${r.entry.padEnd(20)} (no function in the stack)`);
        continue;
      }
      const all = dirSize(dirname(r.asset.file));
      const ratio = median(r.asset.wall) / median(r.baseDeployed.wall);
      console.log(
        `${r.entry.padEnd(20)} ${kb(statSync(r.asset.file).size)} ${kb(all.code).padEnd(11)} ${kb(all.maps)} ${ms(r.asset).padEnd(30)} ${ms(r.assetMaps).padEnd(30)} ${ms(r.baseDeployed).padEnd(30)} ${ratio.toFixed(2)}x`,
      );
    }
  } finally {
    deployed.remove();
  }
}
