import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnResource, type Stack } from 'aws-cdk-lib';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { readConfig } from '../../lib/config';
import { CrmBridgeStack } from '../../lib/crm-bridge-stack';

// An App without `outdir` synthesizes into a fresh cdk.out* folder in the temp directory and
// leaves it there: every app of a test file writes under one folder, removed after the file.
let outRoot: string | undefined;
afterAll(() => {
  if (outRoot) rmSync(outRoot, { recursive: true, force: true });
  outRoot = undefined;
});

/** A fresh cloud assembly folder for one App, removed after the test file. */
export function testOutdir(): string {
  outRoot ??= mkdtempSync(join(tmpdir(), 'crm-bridge-cdk-test-'));
  return mkdtempSync(join(outRoot, 'cdk.out-'));
}

/**
 * A test app: no esbuild run ('aws:cdk:bundling-stacks': []) and no built-in
 * CloudFormation validation (a WASM engine that adds seconds per synth; `cdk synth` still runs it).
 */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({
    outdir: testOutdir(),
    context: { 'aws:cdk:bundling-stacks': [], ...context },
    builtinCloudFormationValidation: false,
  });
}

export interface Synth {
  readonly stack: CrmBridgeStack;
  readonly template: Template;
}

/** The whole stack from context, as `bin/app.ts` builds it (with a fixed env so ARNs are readable). */
export function synth(context: Record<string, unknown> = {}): Synth {
  const app = testApp(context);
  const config = readConfig((k) => app.node.tryGetContext(k));
  const stack = new CrmBridgeStack(app, 'CrmBridge-test', {
    config,
    env: { account: '111111111111', region: 'eu-west-1' },
  });
  return { stack, template: Template.fromStack(stack) };
}

export const logicalId = (resource: { node: { defaultChild?: unknown } }): string => {
  const cfn = resource.node.defaultChild as CfnResource;
  return cfn.stack.getLogicalId(cfn);
};

/** Properties of one resource by its construct. */
export function propsOf(template: Template, resource: { node: { defaultChild?: unknown } }): any {
  const id = logicalId(resource);
  const all = template.toJSON().Resources as Record<string, any>;
  if (!all[id]) throw new Error(`no resource ${id}`);
  return all[id].Properties;
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
  Sid?: string;
}

export const actionsOf = (s: Statement): string[] => [s.Action].flat();

/** Every statement of the inline policies attached to a function's execution role. */
export function roleStatements(template: Template, stack: Stack, fn: IFunction): Statement[] {
  const roleId = stack.getLogicalId(fn.role!.node.defaultChild as CfnResource);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** "METHOD /path" -> method properties, rebuilt from the Resource tree in the template. */
export function routes(template: Template): Map<string, any> {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const pathOf = (ref: any): string => {
    if (ref['Fn::GetAtt']?.[1] === 'RootResourceId') return '';
    const r = resources[ref.Ref];
    if (!r) throw new Error(`unknown resource ${JSON.stringify(ref)}`);
    return `${pathOf(r.Properties.ParentId)}/${r.Properties.PathPart}`;
  };
  const out = new Map<string, any>();
  for (const m of Object.values(template.findResources('AWS::ApiGateway::Method'))) {
    out.set(`${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId) || '/'}`, m.Properties);
  }
  return out;
}

/** Stand-in tables and job data bucket for a construct tested alone in stack `s` (stage dev). */
export function storageProps(s: Stack) {
  const table = (id: string) => new TableV2(s, id, { partitionKey: { name: 'pk', type: AttributeType.STRING } });
  return {
    stage: 'dev',
    connectorsTable: table('C'),
    jobsTable: table('J'),
    filesTable: table('F'),
    jobDataBucket: new Bucket(s, 'D'),
  };
}
