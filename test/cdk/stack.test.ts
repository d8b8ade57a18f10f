import { Template } from 'aws-cdk-lib/assertions';
import { readConfig } from '../../lib/config';
import { CrmBridgeStack } from '../../lib/crm-bridge-stack';
import { logicalId, propsOf, synth, testApp } from './support';
import { CHOICE_SETTINGS, COMMON_ENVIRONMENT, CONTROLLER_ENV, WORKER_ENV, inBounds } from '../../lambdas/contract/env';
import { STACK_OUTPUTS } from '../../lambdas/contract/stack';

const { stack, template } = synth();
const trusted = synth({
  salesforcePrincipalArn: 'arn:aws:iam::222222222222:user/salesforce',
  salesforceExternalId: 'acme-org-00D5e',
});

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

  test("permissions: execute-api:Invoke on this API's stage, nothing else", () => {
    const statements = salesforcePolicy(trusted.stack, trusted.template);
    expect(statements).toEqual([
      {
        Sid: 'InvokeHubApi',
        Effect: 'Allow',
        Action: 'execute-api:Invoke',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':execute-api:eu-west-1:111111111111:',
              { Ref: logicalId(trusted.stack.api.restApi) },
              '/',
              { Ref: expect.stringMatching(/DeploymentStage/) },
              '/*/*',
            ],
          ],
        },
      },
    ]);
    expect(salesforceRole(trusted.stack, trusted.template).ManagedPolicyArns).toBeUndefined();
    expect(salesforceRole(trusted.stack, trusted.template).Policies).toBeUndefined();
  });

  test('outputs for the External Credential', () => {
    trusted.template.hasOutput('SalesforceRoleArn', {
      Value: { 'Fn::GetAtt': [logicalId(trusted.stack.salesforce!.role), 'Arn'] },
    });
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

describe('handler environment (lambdas/contract/env.ts)', () => {
  const scanned = synth({ malwareScan: 'guardduty' });
  const cases = [
    ['controller', CONTROLLER_ENV, (s: CrmBridgeStack) => s.api.controller],
    ['worker', WORKER_ENV, (s: CrmBridgeStack) => s.jobs.worker],
  ] as const;

  test.each(cases)(
    'the %s gets every variable its handler requires, each setting within the bounds the handler accepts',
    (_, spec, fn) => {
      for (const { stack: s, template: t } of [{ stack, template }, scanned]) {
        const env = propsOf(t, fn(s)).Environment.Variables as Record<string, unknown>;
        expect(Object.keys(env)).toEqual(expect.arrayContaining([...spec.resources, ...spec.settings]));
        for (const setting of spec.settings)
          expect({ setting, ok: inBounds(setting, Number(env[setting])) }).toEqual({ setting, ok: true });
        for (const choice of spec.choices)
          if (env[choice] !== undefined) expect(CHOICE_SETTINGS[choice]).toContain(env[choice]);
      }
    },
  );

  test.each(cases)(
    'the %s gets no variable its handler does not read (the controller has STAGE, naming the stage)',
    (which, spec, fn) => {
      const reads = new Set<string>([
        ...spec.resources,
        ...spec.settings,
        ...spec.choices,
        ...spec.optional,
        ...Object.keys(COMMON_ENVIRONMENT),
      ]);
      for (const { stack: s, template: t } of [{ stack, template }, scanned]) {
        const unread = Object.keys(propsOf(t, fn(s)).Environment.Variables).filter((name) => !reads.has(name));
        expect(unread).toEqual(which === 'controller' ? ['STAGE'] : []);
      }
    },
  );

  test('malwareScan=guardduty: the worker learns the files bucket, the controller to wait for scans', () => {
    const worker = propsOf(scanned.template, scanned.stack.jobs.worker).Environment.Variables;
    expect(worker.FILES_BUCKET).toEqual({ Ref: logicalId(scanned.stack.files.bucket) });
    expect(propsOf(scanned.template, scanned.stack.api.controller).Environment.Variables.MALWARE_SCAN).toBe(
      'guardduty',
    );
  });
});

test('the stack outputs are the ones the contract names for the CLI and the Salesforce guide (both auth modes)', () => {
  const apiKey = synth({ apiAuth: 'apiKey' });
  const outputs = new Set([
    ...Object.keys(template.findOutputs('*')),
    ...Object.keys(apiKey.template.findOutputs('*')),
  ]);
  const named = new Set<string>(Object.values(STACK_OUTPUTS));
  expect([...named].filter((id) => !outputs.has(id))).toEqual([]);
  // Besides them only the one RestApi adds by itself (its endpoint, with a trailing slash: not for Salesforce).
  expect([...outputs].filter((id) => !named.has(id))).toEqual([expect.stringMatching(/^ApiRestApiEndpoint/)]);
});
