import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** Node 22 on arm64, bundled by the local esbuild (never Docker), AWS SDK left to the runtime. */
export function lambdaFunction(scope: Construct, id: string, entry: string, props: Partial<NodejsFunctionProps> & { removalPolicy: RemovalPolicy }): NodejsFunction {
  const { removalPolicy, environment, ...rest } = props;
  const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH, removalPolicy });
  return new NodejsFunction(scope, id, {
    entry: path.join(REPO_ROOT, entry),
    handler: 'handler',
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.ARM_64,
    memorySize: 1024,
    timeout: Duration.seconds(30),
    tracing: Tracing.ACTIVE,
    logGroup,
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
    bundling: { minify: true, sourceMap: true, target: 'node22', format: OutputFormat.CJS, forceDockerBundling: false },
    environment: { POWERTOOLS_SERVICE_NAME: 'crm-bridge', NODE_OPTIONS: '--enable-source-maps', ...environment },
    ...rest,
  });
}
