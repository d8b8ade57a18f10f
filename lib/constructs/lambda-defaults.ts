import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  COMMON_ENVIRONMENT,
  INT_SETTINGS,
  type ChoiceSetting,
  type IntSetting,
  type ResourceVariable,
} from '../../lambdas/contract/env';

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** Environment every function gets (lambdas/contract/env.ts). */
export { COMMON_ENVIRONMENT };

/** A variable of the contract; resources are better set with the bind* helpers (lib/constructs/bindings.ts), with their grant. */
export type HandlerVariable = ResourceVariable | IntSetting | ChoiceSetting;

/**
 * Libraries that only some connector types need and that are large (SOAP: soap
 * with axios; Salesforce: jsforce). The code imports them with `import()` on
 * first use; the bundle leaves them out of index.js and the afterBundling hook
 * builds each one it requires into the asset's node_modules/ (one minified file
 * each, scripts/bundle-lazy-modules.mjs): a cold worker reads none of it until
 * its first SOAP or Salesforce job.
 */
export const LAZY_MODULES = ['soap', 'jsforce', 'axios'] as const;

function lazyModulesCommand(inputDir: string, outputDir: string): string {
  const b = LAMBDA_BUNDLING;
  const alias = Object.fromEntries([b.esbuildArgs['--alias']].map((a) => a.split('=')));
  const options = { lazy: LAZY_MODULES, target: b.target, minify: b.minify, sourcemap: b.sourceMap, alias };
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    'node',
    quote(path.join(inputDir, 'scripts', 'bundle-lazy-modules.mjs')),
    quote(outputDir),
    quote(JSON.stringify(options)),
  ].join(' ');
}

/**
 * How every crm-bridge Lambda is bundled (the local hub's `HUB_HANDLERS=bundled`
 * mode loads the very bundles these options produce).
 *
 * - `bundleAwsSDK`: the SDK clients come from package-lock (3.1169.0), tree-shaken and
 *   minified, not from whatever SDK the Lambda runtime ships: the code relies on options
 *   of the pinned version (`throwOnRequestTimeout`, `cacheMiddleware`), and what runs
 *   on AWS is then what the tests ran. `externalModules` replaces CDK's SDK default, so
 *   it lists only LAZY_MODULES, which the afterBundling hook ships in the asset.
 * - `punycode` alias: whatwg-url (jsforce -> node-fetch) requires "punycode"; in a bundle
 *   that is Node's deprecated built-in (a DEP0040 warning at every cold start), so it
 *   resolves to the userland package of the same API instead (the trailing slash).
 * - `dynamic-import=false`: `import('soap')` becomes `require("soap")` as the TypeScript
 *   (CommonJS) build has it: Node's require finds the LAZY_MODULES files by their
 *   names and gives the same module object the tests load.
 */
export const LAMBDA_BUNDLING = {
  minify: true,
  sourceMap: true,
  target: 'node22',
  format: OutputFormat.CJS,
  bundleAwsSDK: true,
  esbuildArgs: { '--alias': 'punycode=punycode/', '--supported:dynamic-import': 'false' },
  forceDockerBundling: false,
  externalModules: [...LAZY_MODULES],
  commandHooks: {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir: string, outputDir: string) => [lazyModulesCommand(inputDir, outputDir)],
  },
} as const satisfies BundlingOptions;

export interface HubFunctionProps {
  /** Handler file relative to the repository root; it must export `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Names and non-secret settings only: secrets are read from SSM at run time. */
  readonly environment: Partial<Record<HandlerVariable, string>>;
  readonly timeout: Duration;
  /** @default 1024 (arm64 CPU scales with memory; cold starts of the bundled SDK clients stay short) */
  readonly memorySize?: number;
  /** @default - no reserved concurrency */
  readonly reservedConcurrentExecutions?: number;
  /** Applies to the function's log group. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const entries = new WeakMap<NodejsFunction, string>();

/** The entry (relative to the repository root) a hubFunction was made from. */
export function entryOf(fn: NodejsFunction): string | undefined {
  return entries.get(fn);
}

/**
 * A crm-bridge Lambda: Node 22 on arm64, bundled by the local esbuild (never Docker)
 * with the pinned AWS SDK inside (see LAMBDA_BUNDLING), logs kept one month.
 */
export function hubFunction(scope: Construct, id: string, props: HubFunctionProps): NodejsFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: RetentionDays.ONE_MONTH,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
  });
  const fn = new NodejsFunction(scope, id, {
    entry: path.join(REPO_ROOT, props.entry),
    handler: 'handler',
    description: props.description,
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.ARM_64,
    memorySize: props.memorySize ?? 1024,
    timeout: props.timeout,
    reservedConcurrentExecutions: props.reservedConcurrentExecutions,
    tracing: Tracing.ACTIVE,
    logGroup,
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
    bundling: LAMBDA_BUNDLING,
    environment: { ...COMMON_ENVIRONMENT, ...props.environment },
  });
  entries.set(fn, props.entry);
  return fn;
}

/**
 * Whole seconds as the value of a setting, within the bounds the Lambda accepts
 * (lambdas/contract/env.ts): a bad value fails synth, never a cold start.
 */
export function secondsEnv(name: string, d: Duration, setting: IntSetting): string {
  const { min, max } = INT_SETTINGS[setting];
  return String(wholeSeconds(name, d, min, max));
}

/** A duration as whole seconds from min to max; refuses fractions. */
export function wholeSeconds(name: string, d: Duration, min: number, max: number): number {
  const s = d.toSeconds({ integral: false });
  if (!Number.isInteger(s) || s < min || s > max)
    throw new Error(`${name} must be a whole number of seconds from ${min} to ${max}; got ${s}`);
  return s;
}

/** Whole days as the value of JOB_TTL_DAYS, within the bounds the Lambda accepts. */
export function daysEnv(name: string, d: Duration): string {
  const { min, max } = INT_SETTINGS.JOB_TTL_DAYS;
  const days = d.toDays({ integral: false });
  if (!Number.isInteger(days) || days < min || days > max)
    throw new Error(`${name} must be a whole number of days from ${min} to ${max}; got ${days}`);
  return String(days);
}
