import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from '../../lib/config';
import { CrmBridgeStack } from '../../lib/crm-bridge-stack';
import { addNagChecks } from '../../lib/nag';
import { testApp } from './support';

/**
 * cdk-nag's AwsSolutions rules over the whole stack: no error and no warning
 * may be left unacknowledged. A finding names the rule and the construct path,
 * so a failure says what to fix (or, with a reason, to acknowledge in lib/nag.ts's helpers).
 */
function build(context: Record<string, unknown> = {}) {
  const app = testApp(context);
  const stack = new CrmBridgeStack(app, 'CrmBridge-test', {
    config: readConfig((k) => app.node.tryGetContext(k)),
    env: { account: '111111111111', region: 'eu-west-1' },
  });
  return { app, stack };
}

const findings = (report: PolicyValidationPluginReport) =>
  report.violations
    .flatMap((v) => v.violatingResources.map((r) => `${v.severity ?? 'error'} ${v.ruleName} at ${r.constructPath}`))
    .sort();

describe.each([
  ['IAM auth (default)', {}],
  ['API key auth', { apiAuth: 'apiKey' }],
  ['removalPolicy destroy (buckets emptied by a custom resource)', { removalPolicy: 'destroy' }],
  ['malwareScan guardduty (a GuardDuty plan, its role, the scan result rule)', { malwareScan: 'guardduty' }],
])('AwsSolutions checks, %s', (_name, context) => {
  test('no unacknowledged error or warning', () => {
    const { stack } = build(context);
    expect(findings(new AwsSolutionsChecks(stack).validateScope(stack))).toEqual([]);
  });
});

test('the checks run on synthesis, as bin/app.ts adds them: it succeeds', () => {
  const { app } = build();
  addNagChecks(app);
  expect(() => app.synth()).not.toThrow();
});

test('they do stop a synthesis with a finding', () => {
  const { app, stack } = build();
  // An S3 bucket without access logs, SSL enforcement or blocked public access.
  new Bucket(stack, 'Careless');
  addNagChecks(app);
  expect(() => app.synth()).toThrow(/AwsSolutions-S1[\s\S]*CrmBridge-test\/Careless\/Resource/);
});
