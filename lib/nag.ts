import { Stack, Validations, type Stage } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
// Not in the package index; the function cdk-nag names IAM5 findings with.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag's AwsSolutions rules on every synthesis (`cdk synth`, `cdk deploy`
 * and test/cdk/nag.test.ts): an unacknowledged error or warning stops it.
 * (cdk-nag 3 is a validation plugin; `Aspects.of(app).add(...)` no longer works.)
 *
 * What the rules found and was real is fixed in the constructs; what remains is
 * acknowledged on the one resource it concerns, with the reason, through the
 * helpers below, so every exception reads in one place.
 */
export function addNagChecks(stage: Stage): void {
  Validations.of(stage).addPlugins(new AwsSolutionsChecks(stage));
}

/** Acknowledges findings on `scope` (and the resources under it), each with its reason. */
export function acknowledge(scope: IConstruct, findings: Record<string, string>): void {
  Validations.of(scope).acknowledge(...Object.entries(findings).map(([id, reason]) => ({ id, reason })));
}

/** The hub's Lambda functions (lambda-defaults.ts hubFunction): what every one of them needs. */
export function acknowledgeHubFunction(fn: IConstruct): void {
  acknowledge(fn, {
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
      'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch Logs (logs:CreateLogStream/PutLogEvents); it carries no data permission, and AWS keeps it current',
    'AwsSolutions-IAM5[Resource::*]':
      'Only the X-Ray tracing actions (xray:PutTraceSegments, xray:PutTelemetryRecords) use "*": X-Ray has no resource-level permissions. test/cdk/iam.test.ts fails if any data action is granted on "*"',
    'AwsSolutions-L1':
      "Node.js 22 is the runtime the bundles are built for (esbuild target node22) and tested against; the runtime moves with the project's Node requirement, not on its own",
  });
}

/**
 * The IAM5 finding id for a wildcard resource ARN, as cdk-nag spells it
 * (`<LogicalId.Arn>/*`, `arn:<AWS::Partition>:...`), so an acknowledgement names exactly that resource.
 */
export function wildcardResource(scope: IConstruct, arn: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(arn))}]`;
}
