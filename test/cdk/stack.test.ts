import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { readConfig } from '../../lib/config';
import { CrmBridgeStack } from '../../lib/crm-bridge-stack';
import { logicalId, propsOf, synth, testApp } from './support';

const { stack, template } = synth();
const trusted = synth({ salesforcePrincipalArn: 'arn:aws:iam::222222222222:user/salesforce', salesforceExternalId: 'acme-org-00D5e' });

const salesforceRole = (s: typeof stack, t: Template) => t.toJSON().Resources[logicalId(s.salesforce!.role)].Properties;
const salesforcePolicy = (s: typeof stack, t: Template) =>
  Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === logicalId(s.salesforce!.role)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);

describe('Salesforce access role (iam mode)', () => {
  test('trust: the given principal, only with sts:ExternalId', () => {
    expect(salesforceRole(trusted.stack, trusted.template).AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { AWS: 'arn:aws:iam::222222222222:user/salesforce' },
        Condition: { StringEquals: { 'sts:ExternalId': 'acme-org-00D5e' } },
      },
    ]);
  });

  test('defaults: this account may assume it, external id crm-bridge-<stage>', () => {
    expect(salesforceRole(stack, template).AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:root']] } },
        Condition: { StringEquals: { 'sts:ExternalId': 'crm-bridge-dev' } },
      }),
    ]);
    template.hasOutput('SalesforceExternalId', { Value: 'crm-bridge-dev' });
  });

  test('permissions: execute-api:Invoke on this API\'s stage, nothing else', () => {
    const statements = salesforcePolicy(trusted.stack, trusted.template);
    expect(statements).toEqual([
      {
        Sid: 'InvokeHubApi',
        Effect: 'Allow',
        Action: 'execute-api:Invoke',
        Resource: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:eu-west-1:111111111111:', { Ref: logicalId(trusted.stack.api.restApi) }, '/', { Ref: expect.stringMatching(/DeploymentStage/) }, '/*/*']],
        },
      },
    ]);
    expect(salesforceRole(trusted.stack, trusted.template).ManagedPolicyArns).toBeUndefined();
    expect(salesforceRole(trusted.stack, trusted.template).Policies).toBeUndefined();
  });

  test('outputs for the External Credential', () => {
    trusted.template.hasOutput('SalesforceRoleArn', { Value: { 'Fn::GetAtt': [logicalId(trusted.stack.salesforce!.role), 'Arn'] } });
    trusted.template.hasOutput('SalesforceExternalId', { Value: 'acme-org-00D5e' });
  });

  test('no Salesforce role in apiKey mode', () => {
    const k = synth({ apiAuth: 'apiKey' });
    expect(k.stack.salesforce).toBeUndefined();
    expect(k.template.findOutputs('SalesforceRoleArn')).toEqual({});
    expect(k.template.findOutputs('SalesforceExternalId')).toEqual({});
  });
});

test('outputs the CLI reads, by their exact ids', () => {
  const refs: Record<string, unknown> = {
    ConnectorsTableName: { Ref: logicalId(stack.tables.connectors) },
    JobsTableName: { Ref: logicalId(stack.tables.jobs) },
    JobsQueueUrl: { Ref: logicalId(stack.jobs.queue) },
    DeadLetterQueueUrl: { Ref: logicalId(stack.jobs.deadLetterQueue) },
    FilesBucketName: { Ref: logicalId(stack.files.bucket) },
    FilesTableName: { Ref: logicalId(stack.files.table) },
    ApiRegion: 'eu-west-1',
  };
  for (const [id, value] of Object.entries(refs)) template.hasOutput(id, { Value: value });
  expect(JSON.stringify(template.findOutputs('ApiUrl').ApiUrl!.Value)).toContain(logicalId(stack.api.restApi));
  template.hasOutput('SalesforceRoleArn', {});
});

test('environment-agnostic without an env (synth needs no account)', () => {
  const app = testApp();
  const s = new CrmBridgeStack(app, 'CrmBridge-dev', { config: readConfig((k) => app.node.tryGetContext(k)) });
  const t = Template.fromStack(s);
  t.hasOutput('ApiRegion', { Value: { Ref: 'AWS::Region' } });
  expect(JSON.stringify(t.toJSON())).not.toMatch(/:\d{12}:/);
});

test.each([
  ['lambdas/api.ts', 'controller'],
  ['lambdas/worker.ts', 'worker'],
] as const)('every variable %s reads is set on the %s', (entry, which) => {
  const source = readFileSync(join(__dirname, '../..', entry), 'utf8');
  const read = [...source.matchAll(/(?:requireEnv|intEnv)\('([A-Z0-9_]+)'/g)].map((m) => m[1]);
  expect(read.length).toBeGreaterThan(0);
  const fn = which === 'controller' ? stack.api.controller : stack.jobs.worker;
  expect(Object.keys(propsOf(template, fn).Environment.Variables)).toEqual(expect.arrayContaining(read));
});
