import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Stack, type CfnResource } from 'aws-cdk-lib';
import { hubFunction } from '../../lib/constructs/lambda-defaults';
import { testApp } from './support';

/**
 * The bundling options every Lambda gets (lambda-defaults.ts), run through CDK's own
 * NodejsFunction bundling (the local esbuild, as `cdk synth` runs it) on a small entry.
 */
describe('Lambda bundles', () => {
  const app = testApp({ 'aws:cdk:bundling-stacks': ['**'] });
  const stack = new Stack(app, 'Bundling');
  const fn = hubFunction(stack, 'Fn', {
    entry: 'test/fixtures/bundling/entry.ts',
    description: 'bundling test',
    environment: {},
    timeout: Duration.seconds(5),
  });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template;
  const key: string = template.Resources[stack.getLogicalId(fn.node.defaultChild as CfnResource)].Properties.Code.S3Key;
  const bundle = join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`, 'index.js');
  const code = readFileSync(bundle, 'utf8');

  test('carry the pinned AWS SDK instead of the runtime one', () => {
    expect(code).not.toMatch(/require\("@aws-sdk\/client-sqs"\)/);
    expect(code).not.toMatch(/require\("@smithy\//);
    // The client's code is there, from node_modules (package-lock's version), with the
    // request handler option lambdas/shared/clients.ts relies on.
    expect(code).toContain('AmazonSQS');
    expect(code).toContain('throwOnRequestTimeout');
  });

  test('use the userland punycode, not the deprecated built-in, and load without a warning', () => {
    expect(code).not.toMatch(/require\("(node:)?punycode"\)/);
    // --pending-deprecation: Node 20 only warns about the built-in punycode with it (22 always does).
    const run = spawnSync(
      process.execPath,
      [
        '--pending-deprecation',
        '-e',
        `require(${JSON.stringify(bundle)}).handler().then((r) => console.log(JSON.stringify(r)))`,
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', NODE_OPTIONS: '' },
      },
    );
    expect(run.stderr).not.toContain('DeprecationWarning');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ region: 'eu-west-1', ascii: 'xn--bcher-kva.example' });
  });
});
