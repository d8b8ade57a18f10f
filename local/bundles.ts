import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnResource } from 'aws-cdk-lib';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { entryOf, REPO_ROOT } from '../lib/constructs/lambda-defaults';
import { readConfig } from '../lib/config';
import { CrmBridgeStack } from '../lib/crm-bridge-stack';
import { stackName } from '../lambdas/contract/stack';

/**
 * The Lambda bundles exactly as `cdk synth` produces them: the stack is
 * synthesized in-process with bundling on (the NodejsFunction runs the local
 * esbuild with the stack's options), and the handler files are taken from the
 * cloud assembly. The local hub's `HUB_HANDLERS=bundled` mode and the bundle
 * bench load these, so what they run is what would be deployed.
 */
export interface SynthesizedBundles {
  /** index.js of the controller (API) asset. */
  api: string;
  /** index.js of the worker asset. */
  worker: string;
  /** index.js of every function, by its entry (e.g. `lambdas/api.ts`). */
  byEntry: Record<string, string>;
  /** The cloud assembly directory (removed by `remove`). */
  outdir: string;
  remove(): void;
}

export function synthBundles(): SynthesizedBundles {
  const outdir = mkdtempSync(join(tmpdir(), 'crm-bridge-bundles-'));
  try {
    // No built-in CloudFormation validation: a WASM engine that adds seconds and checks nothing about the code.
    // cdk.json's context, as the CDK CLI passes it to bin/app.ts.
    const context = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')).context ?? {};
    const app = new App({ outdir, context, builtinCloudFormationValidation: false });
    const config = readConfig((k) => app.node.tryGetContext(k));
    const stack = new CrmBridgeStack(app, stackName(config.stage), { config });
    const template = app.synth().getStackByName(stack.stackName).template as {
      Resources: Record<string, { Properties: { Code: { S3Key: string } } }>;
    };
    const assetOf = (fn: NodejsFunction): string => {
      const id = stack.getLogicalId(fn.node.defaultChild as CfnResource);
      const key = template.Resources[id]?.Properties.Code.S3Key;
      const file = join(outdir, `asset.${String(key).replace(/\.zip$/, '')}`, 'index.js');
      if (!existsSync(file)) throw new Error(`no bundle for ${fn.node.path} at ${file}`);
      return file;
    };
    const byEntry: Record<string, string> = {};
    for (const fn of stack.node.findAll().filter((c): c is NodejsFunction => c instanceof NodejsFunction)) {
      const entry = entryOf(fn);
      if (entry) byEntry[entry] = assetOf(fn);
    }
    return {
      api: assetOf(stack.api.controller),
      worker: assetOf(stack.jobs.worker),
      byEntry,
      outdir,
      remove: () => rmSync(outdir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(outdir, { recursive: true, force: true });
    throw err;
  }
}
