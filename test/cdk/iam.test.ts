import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { JobPipeline } from '../../lib/constructs/job-pipeline';
import { actionsOf, logicalId, propsOf, roleStatements, synth, testApp, type Statement } from './support';

const { stack, template } = synth();
const worker = roleStatements(template, stack, stack.jobs.worker);
const controller = roleStatements(template, stack, stack.api.controller);
const withPrefix = (statements: Statement[], prefix: string) =>
  statements.filter((s) => actionsOf(s).some((a) => a.startsWith(prefix)));
/** The statements grantJobData writes: one per prefix of the job data bucket. */
function jobDataStatements(actions: { payloads: string[]; results: string[] }): Statement[] {
  const arn = (prefix: string) => ({
    'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(stack.jobData.bucket), 'Arn'] }, `/${prefix}/*`]],
  });
  const one = (a: string[]) => (a.length === 1 ? a[0]! : a);
  return [
    { Sid: 'JobPayloads', Effect: 'Allow', Action: one(actions.payloads), Resource: arn('payloads') },
    { Sid: 'JobResults', Effect: 'Allow', Action: one(actions.results), Resource: arn('results') },
  ];
}
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
    const prod = synth({ stage: 'prod', salesforcePrincipalArn: '222222222222', salesforceExternalId: 'org-prod' });
    const ssm = withPrefix(roleStatements(prod.template, prod.stack, prod.stack.jobs.worker), 'ssm:');
    expect(JSON.stringify(ssm.map((s) => s.Resource))).toContain(':parameter/crm-bridge/prod/*');
  });

  test('consumes the job queue, may change message visibility (deferred retries) and sends to it only (migration batches, file links)', () => {
    const sqs = withPrefix(worker, 'sqs:');
    const actions = sqs.flatMap(actionsOf);
    expect(actions).toEqual(
      expect.arrayContaining([
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:SendMessage',
      ]),
    );
    for (const s of sqs) expect(s.Resource).toEqual({ 'Fn::GetAtt': [logicalId(stack.jobs.queue), 'Arn'] });
  });

  const dynamoOn = (t: { node: { defaultChild?: unknown } }) => {
    const id = logicalId(t);
    return withPrefix(worker, 'dynamodb:').filter((s) => JSON.stringify(s.Resource).includes(`"${id}"`));
  };

  test('exactly what lambdas/worker.ts calls: GetItem on connectors, GetItem and UpdateItem on jobs; S3 on the job data bucket and migrated objects', () => {
    expect(dynamoOn(stack.tables.connectors).flatMap(actionsOf).sort()).toEqual(['dynamodb:GetItem']);
    // Jobs are created and idempotency keys claimed/freed by the controller: no Put, Delete, Scan or batch calls.
    expect(dynamoOn(stack.tables.jobs).flatMap(actionsOf).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    // Claim check: reads payloads, writes results (and reads them back for a resumed delivery); no other bucket, no listing.
    // Files migrations: objects under files/ of the files bucket, written (one PUT or multipart) and checked (HeadObject); no Delete, no listing.
    const filesArn = stack.getLogicalId(stack.files.bucket.node.defaultChild as any);
    expect(withPrefix(worker, 's3:')).toEqual([
      ...jobDataStatements({ payloads: ['s3:GetObject'], results: ['s3:PutObject', 's3:GetObject'] }),
      {
        Sid: 'MigratedObjects',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [filesArn, 'Arn'] }, '/files/*']] },
      },
    ]);
  });

  test('migrations table: Get, Put, Update and Query on the table itself (no Delete, Scan or index) for both roles', () => {
    const id = stack.getLogicalId(stack.tables.migrations.node.defaultChild as any);
    for (const role of [worker, controller]) {
      const statements = withPrefix(role, 'dynamodb:').filter((s) => JSON.stringify(s.Resource).includes(`"${id}"`));
      expect(statements).toEqual([
        {
          Sid: 'Migrations',
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
          Resource: { 'Fn::GetAtt': [id, 'Arn'] },
        },
      ]);
    }
  });

  test('files table: GetItem and UpdateItem (file links) and PutItem (migrated files) on the table itself, nothing else', () => {
    const statements = dynamoOn(stack.files.table);
    expect(statements).toEqual([
      {
        Sid: 'FileLinks',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: { 'Fn::GetAtt': [logicalId(stack.files.table), 'Arn'] },
      },
      {
        Sid: 'MigratedFiles',
        Effect: 'Allow',
        Action: 'dynamodb:PutItem',
        Resource: { 'Fn::GetAtt': [logicalId(stack.files.table), 'Arn'] },
      },
    ]);
    // No index (listing files by record is the controller's), no Delete/Query/Scan.
    expect(JSON.stringify(statements)).not.toContain('/index/');
  });

  test('a customer-managed files table key is granted to the worker for those calls', () => {
    const s = new Stack(testApp(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
    const table = (id: string, key?: Key) =>
      new TableV2(s, id, {
        partitionKey: { name: 'pk', type: AttributeType.STRING },
        ...(key && { encryption: TableEncryptionV2.customerManagedKey(key) }),
      });
    const key = new Key(s, 'FilesKey');
    const q = new JobPipeline(s, 'Jobs', {
      stage: 'dev',
      connectorsTable: table('C'),
      jobsTable: table('J'),
      filesTable: table('F', key),
      jobDataBucket: new Bucket(s, 'D'),
    });
    const kms = roleStatements(Template.fromStack(s), s, q.worker).filter((st) =>
      actionsOf(st).some((a) => a.startsWith('kms:')),
    );
    expect(kms.flatMap(actionsOf)).toEqual(
      expect.arrayContaining(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*']),
    );
    expect(kms.map((st) => st.Resource)).toEqual([{ 'Fn::GetAtt': [logicalId(key), 'Arn'] }]);
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

  test('object-level S3 actions on the files bucket (no listing, no bucket-level actions) and prefix-scoped ones on the job data bucket', () => {
    const filesId = logicalId(stack.files.bucket);
    const s3 = withPrefix(controller, 's3:').filter((s) => JSON.stringify(s.Resource).includes(`"${filesId}"`));
    expect(s3.flatMap(actionsOf).sort()).toEqual([
      's3:AbortMultipartUpload',
      's3:DeleteObject',
      's3:GetObject',
      's3:PutObject',
    ]);
    // Claim check: writes payloads (never reads them back), reads results.
    expect(withPrefix(controller, 's3:').filter((s) => !s3.includes(s))).toEqual(
      jobDataStatements({ payloads: ['s3:PutObject'], results: ['s3:GetObject'] }),
    );
    for (const s of s3) {
      expect(s.Resource).toEqual({
        'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(stack.files.bucket), 'Arn'] }, '/*']],
      });
    }
  });

  test('exactly what lambdas/api.ts calls on connectors, jobs and files (Query on the byRecordId index only)', () => {
    const on = (t: { node: { defaultChild?: unknown } }, suffix = '') =>
      withPrefix(controller, 'dynamodb:')
        .filter(
          (s) =>
            JSON.stringify(s.Resource).includes(`"${logicalId(t)}"`) && JSON.stringify(s.Resource).includes(suffix),
        )
        .flatMap(actionsOf)
        .sort();
    expect(on(stack.tables.connectors)).toEqual(['dynamodb:GetItem']);
    expect(on(stack.tables.jobs).filter((a) => a !== 'dynamodb:Query')).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    // Listing jobs: Query on exactly the two list indexes, nothing on the table itself.
    const jobsTable = logicalId(stack.tables.jobs);
    const jobQueries = withPrefix(controller, 'dynamodb:').filter(
      (s) => JSON.stringify(s.Resource).includes(`"${jobsTable}"`) && actionsOf(s).includes('dynamodb:Query'),
    );
    expect(jobQueries.map((s) => [actionsOf(s), s.Resource])).toEqual([
      [
        ['dynamodb:Query'],
        [
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [jobsTable, 'Arn'] }, '/index/byConnector']] },
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [jobsTable, 'Arn'] }, '/index/byStatus']] },
        ],
      ],
    ]);
    expect(on(stack.files.table, '/index/byRecordId')).toEqual(['dynamodb:Query']);
    expect(on(stack.files.table).filter((a) => a !== 'dynamodb:Query')).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect(JSON.stringify(withPrefix(controller, 'dynamodb:'))).not.toMatch(/Scan|Batch|\/index\/\*/);
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
    const env: Record<string, unknown> = propsOf(template, fn).Environment.Variables;
    for (const [name, value] of Object.entries(env)) {
      expect(name).not.toMatch(/PASSWORD|TOKEN|API_KEY|PRIVATE|CLIENT_SECRET|SECRET$/);
      if (typeof value === 'string')
        expect([name, value]).toEqual([
          name,
          expect.stringMatching(/^(\d+|dev|crm-bridge|--enable-source-maps|refuse|opt-in)$/),
        ]);
      else expect(Object.keys(value as object)).toEqual([expect.stringMatching(/^(Ref|Fn::GetAtt|Fn::Join)$/)]);
    }
  }
});
