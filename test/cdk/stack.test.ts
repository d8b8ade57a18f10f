import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { readConfig } from '../../lib/config';
import { CrmBridgeStack } from '../../lib/crm-bridge-stack';

/** Synthesizes the stack with bundling skipped (no esbuild run) and the given context. */
function synth(context: Record<string, unknown> = {}): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const config = readConfig((k) => app.node.tryGetContext(k));
  return Template.fromStack(new CrmBridgeStack(app, 'Test', { config, env: { account: '111111111111', region: 'eu-west-1' } }));
}

const t = synth();

function roleStatements(template: Template, functionDescription: RegExp): any[] {
  const fns = template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp(functionDescription.source) } });
  const roleRef = Object.values(fns)[0]!.Properties.Role['Fn::GetAtt'][0];
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref === roleRef))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

const actionsOf = (s: any): string[] => [s.Action].flat();

describe('worker and queue', () => {
  test('reserved concurrency 25 and event source maximum concurrency 25, partial batch responses', () => {
    t.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('worker'), ReservedConcurrentExecutions: 25, Runtime: 'nodejs22.x', Timeout: 60 });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 1, ScalingConfig: { MaximumConcurrency: 25 }, FunctionResponseTypes: ['ReportBatchItemFailures'] });
  });

  test('visibility timeout is 6x the worker timeout; DLQ after 15 receives', () => {
    const queues = t.findResources('AWS::SQS::Queue', { Properties: { RedrivePolicy: Match.anyValue() } });
    const main = Object.values(queues)[0]!.Properties;
    expect(main.VisibilityTimeout).toBe(360);
    expect(main.RedrivePolicy.maxReceiveCount).toBe(15);
    expect(main.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0]).toMatch(/DeadLetterQueue/);
  });

  test('queues are encrypted and TLS-only', () => {
    for (const q of Object.values(t.findResources('AWS::SQS::Queue'))) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    const policies = Object.values(t.findResources('AWS::SQS::QueuePolicy'));
    expect(policies.length).toBeGreaterThanOrEqual(2);
    for (const p of policies) {
      expect(p.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  test('context sets the cap; 0 reserves nothing (new accounts with a quota of 10)', () => {
    const small = synth({ workerConcurrency: 5, workerReservedConcurrency: 0 });
    small.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 5 } });
    const worker = Object.values(small.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('worker') } }))[0]!;
    expect(worker.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  test.each([
    [{ workerConcurrency: 1 }, /between 2 and 1000/],
    [{ workerConcurrency: 'lots' }, /must be an integer/],
    [{ workerConcurrency: 25, workerReservedConcurrency: 10 }, /at least "workerConcurrency"/],
    [{ apiAuth: 'open' }, /"iam" or "apiKey"/],
    [{ stage: 'Prod!' }, /stage/],
    [{ corsOrigins: 'http://insecure.example.com' }, /https origin/],
    [{ salesforcePrincipalArn: 'arn:aws:iam::222222222222:user/sf' }, /salesforceExternalId/],
  ])('bad context %j fails at synth time', (context, message) => {
    expect(() => synth(context)).toThrow(message);
  });
});

describe('tables', () => {
  test('on demand, point-in-time recovery, encrypted; TTL on jobs', () => {
    const tables = Object.values(t.findResources('AWS::DynamoDB::GlobalTable'));
    expect(tables.length).toBeGreaterThan(0);
    for (const table of tables) {
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
      expect(table.Properties.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } });
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', { KeySchema: [{ AttributeName: 'connectorId', KeyType: 'HASH' }] });
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: 'fileId', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'byRecordId', KeySchema: [{ AttributeName: 'recordId', KeyType: 'HASH' }, { AttributeName: 'createdAt', KeyType: 'RANGE' }] })],
    });
  });
});

describe('least privilege', () => {
  const worker = roleStatements(t, /worker/);
  const controller = roleStatements(t, /controller/);

  test('worker reads SSM only under /crm-bridge/<stage>/', () => {
    const ssm = worker.filter((s) => actionsOf(s).some((a) => a.startsWith('ssm:')));
    expect(ssm).toHaveLength(1);
    expect(actionsOf(ssm[0]).sort()).toEqual(['ssm:GetParameter', 'ssm:GetParameters']);
    expect(JSON.stringify(ssm[0].Resource)).toContain(':parameter/crm-bridge/dev/*');
  });

  test('worker may change message visibility (deferred retries); controller only sends', () => {
    expect(worker.some((s) => actionsOf(s).includes('sqs:ChangeMessageVisibility'))).toBe(true);
    const sqs = controller.filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));
    expect(sqs.flatMap(actionsOf).sort()).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
  });

  test('controller has no SSM access and only object-level S3 actions', () => {
    expect(controller.some((s) => actionsOf(s).some((a) => a.startsWith('ssm:')))).toBe(false);
    const s3 = controller.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3.flatMap(actionsOf).sort()).toEqual(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject']);
    expect(JSON.stringify(s3[0].Resource)).toContain('/*');
  });

  test('no data action on Resource "*"', () => {
    for (const s of [...worker, ...controller]) {
      const data = actionsOf(s).some((a) => /^(dynamodb|sqs|s3|ssm|kms):/.test(a));
      if (data) expect(s.Resource).not.toBe('*');
    }
  });

  test('environment carries names, never secret values', () => {
    for (const fn of Object.values(t.findResources('AWS::Lambda::Function'))) {
      const env = fn.Properties.Environment?.Variables ?? {};
      for (const [k, v] of Object.entries(env)) {
        expect(k).not.toMatch(/SECRET$|PASSWORD|TOKEN$|API_KEY$/);
        expect(JSON.stringify(v)).not.toMatch(/BEGIN .*PRIVATE KEY|xox[bp]-/);
      }
    }
  });
});

describe('API', () => {
  test('every route but health requires IAM (SigV4)', () => {
    const methods = Object.values(t.findResources('AWS::ApiGateway::Method')).map((m) => m.Properties);
    const open = methods.filter((m) => m.AuthorizationType === 'NONE');
    expect(open).toHaveLength(1);
    expect(open[0].HttpMethod).toBe('GET');
    expect(methods.filter((m) => m.AuthorizationType === 'AWS_IAM').length).toBe(methods.length - 1);
  });

  test('apiKey mode: key required, usage plan with throttling and quota, key id output', () => {
    const k = synth({ apiAuth: 'apiKey' });
    const methods = Object.values(k.findResources('AWS::ApiGateway::Method')).map((m) => m.Properties);
    expect(methods.filter((m) => m.ApiKeyRequired === true)).toHaveLength(methods.length - 1);
    k.hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 100, BurstLimit: 200 }, Quota: { Limit: 100000, Period: 'DAY' } });
    k.hasOutput('ApiKeyId', {});
    expect(Object.keys(k.findOutputs('SalesforceRoleArn'))).toHaveLength(0);
  });

  test('gateway errors answer in the project error format', () => {
    t.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'ACCESS_DENIED',
      StatusCode: '403',
      ResponseTemplates: { 'application/json': '{"error":{"code":"FORBIDDEN","message":$context.error.messageString}}' },
    });
    t.hasResourceProperties('AWS::ApiGateway::GatewayResponse', { ResponseType: 'THROTTLED', StatusCode: '429' });
  });

  test('stage throttling, tracing and access logs', () => {
    t.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'dev',
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 })]),
    });
  });
});

describe('file store', () => {
  test('private, encrypted, TLS-only bucket that aborts stale multipart uploads', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LifecycleConfiguration: { Rules: [Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' })] },
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    const bucket = Object.values(t.findResources('AWS::S3::Bucket'))[0]!;
    expect(bucket.Properties.CorsConfiguration).toBeUndefined();
  });

  test('CORS for the configured origins exposes ETag (browsers need it to complete multipart uploads)', () => {
    synth({ corsOrigins: 'https://acme.lightning.force.com' }).hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: { CorsRules: [Match.objectLike({ AllowedOrigins: ['https://acme.lightning.force.com'], AllowedMethods: ['PUT', 'GET', 'HEAD'], ExposedHeaders: ['ETag'] })] },
    });
  });
});

describe('Salesforce access role', () => {
  test('trust requires the external ID; it may only invoke this API', () => {
    const sf = synth({ salesforcePrincipalArn: 'arn:aws:iam::222222222222:user/salesforce', salesforceExternalId: 'acme-org-123' });
    const roles = sf.findResources('AWS::IAM::Role', { Properties: { Description: Match.stringLikeRegexp('Salesforce') } });
    const [id, role] = Object.entries(roles)[0]!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({ Action: 'sts:AssumeRole', Principal: { AWS: 'arn:aws:iam::222222222222:user/salesforce' }, Condition: { StringEquals: { 'sts:ExternalId': 'acme-org-123' } } }),
    ]);
    const statements = Object.values(sf.findResources('AWS::IAM::Policy'))
      .filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref === id))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements).toHaveLength(1);
    expect(statements[0].Action).toBe('execute-api:Invoke');
    expect(JSON.stringify(statements[0].Resource)).toContain('execute-api');
    sf.hasOutput('SalesforceRoleArn', {});
    sf.hasOutput('SalesforceExternalId', { Value: 'acme-org-123' });
  });
});

test('outputs the CLI reads', () => {
  for (const name of ['ApiUrl', 'ConnectorsTableName', 'JobsTableName', 'JobsQueueUrl', 'DeadLetterQueueUrl', 'FilesBucketName', 'FilesTableName']) t.hasOutput(name, {});
});
