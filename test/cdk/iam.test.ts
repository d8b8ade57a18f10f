import { actionsOf, roleStatements, synth, type Statement } from './support';

const { stack, template } = synth();
const worker = roleStatements(template, stack, stack.jobs.worker);
const controller = roleStatements(template, stack, stack.api.controller);
const withPrefix = (statements: Statement[], prefix: string) => statements.filter((s) => actionsOf(s).some((a) => a.startsWith(prefix)));
const DATA_ACTION = /^(dynamodb|sqs|s3|ssm|kms|secretsmanager|execute-api|lambda|sts):/;

describe('worker role', () => {
  test('ssm:GetParameter(s) only under /crm-bridge/<stage>/', () => {
    const ssm = withPrefix(worker, 'ssm:');
    expect(ssm.flatMap(actionsOf).sort()).toEqual(['ssm:GetParameter', 'ssm:GetParameters']);
    for (const s of ssm) {
      expect(s.Resource).toEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:eu-west-1:111111111111:parameter/crm-bridge/dev/*']],
      });
    }
  });

  test('the SSM path follows the stage', () => {
    const prod = synth({ stage: 'prod' });
    const ssm = withPrefix(roleStatements(prod.template, prod.stack, prod.stack.jobs.worker), 'ssm:');
    expect(JSON.stringify(ssm.map((s) => s.Resource))).toContain(':parameter/crm-bridge/prod/*');
  });

  test('consumes the job queue and may change message visibility (deferred retries), but never sends', () => {
    const sqs = withPrefix(worker, 'sqs:');
    const actions = sqs.flatMap(actionsOf);
    expect(actions).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']));
    expect(actions).not.toContain('sqs:SendMessage');
    for (const s of sqs) expect(s.Resource).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(stack.jobs.queue.node.defaultChild as any), 'Arn'] });
  });

  test('reads connectors, reads and writes jobs, nothing on the files table or bucket', () => {
    const dynamo = withPrefix(worker, 'dynamodb:');
    const onTable = (t: { node: { defaultChild?: unknown } }) => {
      const id = stack.getLogicalId(t.node.defaultChild as any);
      return dynamo.filter((s) => JSON.stringify(s.Resource).includes(`"${id}"`)).flatMap(actionsOf);
    };
    expect(onTable(stack.tables.connectors)).toContain('dynamodb:GetItem');
    expect(onTable(stack.tables.connectors)).not.toContain('dynamodb:PutItem');
    expect(onTable(stack.tables.jobs)).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem']));
    expect(onTable(stack.files.table)).toEqual([]);
    expect(withPrefix(worker, 's3:')).toEqual([]);
  });
});

describe('controller role', () => {
  test('sends to the job queue and nothing else on SQS; no SSM', () => {
    const sqs = withPrefix(controller, 'sqs:');
    expect(sqs.flatMap(actionsOf)).toContain('sqs:SendMessage');
    expect(sqs.flatMap(actionsOf)).not.toEqual(expect.arrayContaining(['sqs:ReceiveMessage']));
    expect(sqs.flatMap(actionsOf)).not.toContain('sqs:DeleteMessage');
    expect(withPrefix(controller, 'ssm:')).toEqual([]);
  });

  test('object-level S3 actions on the files bucket only (no listing, no bucket-level actions)', () => {
    const s3 = withPrefix(controller, 's3:');
    expect(s3.flatMap(actionsOf).sort()).toEqual(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject']);
    for (const s of s3) {
      expect(s.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [stack.getLogicalId(stack.files.bucket.node.defaultChild as any), 'Arn'] }, '/*']] });
    }
  });

  test('reads connectors, reads and writes jobs and files (including the byRecordId index)', () => {
    const resources = JSON.stringify(withPrefix(controller, 'dynamodb:').map((s) => s.Resource));
    for (const t of [stack.tables.connectors, stack.tables.jobs, stack.files.table]) expect(resources).toContain(stack.getLogicalId(t.node.defaultChild as any));
    expect(resources).toContain('/index/*');
  });
});

test('no statement in either role grants a data action on Resource "*"', () => {
  for (const s of [...worker, ...controller]) {
    const resources = [s.Resource].flat();
    if (actionsOf(s).some((a) => DATA_ACTION.test(a) || a === '*')) expect(resources).not.toContain('*');
  }
});

test('no environment variable value looks like a secret: names, numbers and references only', () => {
  for (const fn of [stack.jobs.worker, stack.api.controller]) {
    const env: Record<string, unknown> = template.toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as any)].Properties.Environment.Variables;
    for (const [name, value] of Object.entries(env)) {
      expect(name).not.toMatch(/PASSWORD|TOKEN|API_KEY|PRIVATE|CLIENT_SECRET|SECRET$/);
      if (typeof value === 'string') expect([name, value]).toEqual([name, expect.stringMatching(/^(\d+|dev|crm-bridge|--enable-source-maps)$/)]);
      else expect(Object.keys(value as object)).toEqual([expect.stringMatching(/^(Ref|Fn::GetAtt|Fn::Join)$/)]);
    }
  }
});
