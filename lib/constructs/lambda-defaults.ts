import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** Environment every function gets; the Lambda code reads the names, so they are a fixed contract. */
export const COMMON_ENVIRONMENT = {
  POWERTOOLS_SERVICE_NAME: 'crm-bridge',
  // Stack traces point at the TypeScript sources (bundles ship with source maps).
  NODE_OPTIONS: '--enable-source-maps',
} as const;

export interface HubFunctionProps {
  /** Handler file relative to the repository root; it must export `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Names and non-secret settings only: secrets are read from SSM at run time. */
  readonly environment: Record<string, string>;
  readonly timeout: Duration;
  /** @default 1024 (arm64 CPU scales with memory; cold starts of the bundled SDK clients stay short) */
  readonly memorySize?: number;
  /** @default - no reserved concurrency */
  readonly reservedConcurrentExecutions?: number;
  /** Applies to the function's log group. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A crm-bridge Lambda: Node 22 on arm64, bundled by the local esbuild (never Docker),
 * `@aws-sdk/*` left to the runtime, logs kept one month.
 */
export function hubFunction(scope: Construct, id: string, props: HubFunctionProps): NodejsFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH, removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN });
  return new NodejsFunction(scope, id, {
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
    bundling: { minify: true, sourceMap: true, target: 'node22', format: OutputFormat.CJS, forceDockerBundling: false },
    environment: { ...COMMON_ENVIRONMENT, ...props.environment },
  });
}

/** Whole seconds as an environment value; refuses fractions so the Lambda's integer parsing never fails at cold start. */
export function secondsEnv(name: string, d: Duration, min: number, max: number): string {
  const s = d.toSeconds({ integral: false });
  if (!Number.isInteger(s) || s < min || s > max) throw new Error(`${name} must be a whole number of seconds from ${min} to ${max}; got ${s}`);
  return String(s);
}

/** Whole days (>= 1) as an environment value, for JOB_TTL_DAYS. */
export function daysEnv(name: string, d: Duration): string {
  const days = d.toDays({ integral: false });
  if (!Number.isInteger(days) || days < 1) throw new Error(`${name} must be a whole number of days >= 1; got ${days}`);
  return String(days);
}
