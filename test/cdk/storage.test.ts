import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { FileStore } from '../../lib/constructs/file-store';
import { JobData } from '../../lib/constructs/job-data';
import { Tables } from '../../lib/constructs/tables';
import { JOB_LIST_FIELDS } from '../../lambdas/contract/job-indexes';
import { logicalId, propsOf, synth, testApp } from './support';

const { stack, template } = synth();

describe('tables', () => {
  test('connectors, jobs and files: on demand, point-in-time recovery, SSE with the AWS managed key, retained', () => {
    for (const table of [stack.tables.connectors, stack.tables.jobs, stack.files.table]) {
      const p = propsOf(template, table);
      expect(p.BillingMode).toBe('PAY_PER_REQUEST');
      expect(p.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
      expect(p.Replicas).toEqual([
        expect.objectContaining({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ]);
      expect(p.Replicas[0].SSESpecification).toBeUndefined(); // no customer key
      template.hasResource('AWS::DynamoDB::GlobalTable', {
        Properties: Match.objectLike({ KeySchema: p.KeySchema }),
        DeletionPolicy: 'Retain',
      });
    }
  });

  test('keys: connectors by connectorId, jobs by pk with TTL on expiresAt', () => {
    expect(propsOf(template, stack.tables.connectors).KeySchema).toEqual([
      { AttributeName: 'connectorId', KeyType: 'HASH' },
    ]);
    expect(propsOf(template, stack.tables.jobs)).toMatchObject({
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  test('jobs table: sparse list GSIs byConnector and byStatus (jobCreatedAt), list fields only (never payload or result)', () => {
    const p = propsOf(template, stack.tables.jobs);
    // The contract's list-view fields: each index projects exactly them (never payload or result, checked below).
    const fields: string[] = [...JOB_LIST_FIELDS];
    expect(p.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byConnector',
        KeySchema: [
          { AttributeName: 'connectorId', KeyType: 'HASH' },
          { AttributeName: 'jobCreatedAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: fields.filter((f) => f !== 'connectorId') },
      },
      {
        IndexName: 'byStatus',
        KeySchema: [
          { AttributeName: 'status', KeyType: 'HASH' },
          { AttributeName: 'jobCreatedAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: fields.filter((f) => f !== 'status') },
      },
    ]);
    expect(JSON.stringify(p.GlobalSecondaryIndexes)).not.toMatch(/payload|result/);
  });

  test('files table: fileId key, GSI byRecordId (recordId, createdAt)', () => {
    expect(propsOf(template, stack.files.table)).toMatchObject({
      KeySchema: [{ AttributeName: 'fileId', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        expect.objectContaining({
          IndexName: 'byRecordId',
          KeySchema: [
            { AttributeName: 'recordId', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        }),
      ],
    });
  });

  test('optional customer-managed key (in a stack with a region)', () => {
    expect(
      () =>
        new Tables(new Stack(testApp(), 'Agnostic'), 'Tables', {
          encryptionKey: new Key(new Stack(testApp(), 'K'), 'Key'),
        }),
    ).toThrow(/explicit region/);
    const s = new Stack(testApp(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
    const key = new Key(s, 'Key');
    const tables = new Tables(s, 'Tables', { encryptionKey: key });
    const p = propsOf(Template.fromStack(s), tables.jobs);
    expect(p.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(p.Replicas[0].SSESpecification).toEqual({ KMSMasterKeyId: { 'Fn::GetAtt': [logicalId(key), 'Arn'] } });
  });
});

type Bucket = { node: { defaultChild?: unknown } };

/** Both buckets: no public access, S3-managed encryption, unversioned, owner-enforced, kept on stack delete. */
function expectPrivateRetained(bucket: Bucket) {
  expect(propsOf(template, bucket)).toMatchObject({
    PublicAccessBlockConfiguration: {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    },
    BucketEncryption: {
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    },
    OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
  });
  expect(propsOf(template, bucket).VersioningConfiguration).toBeUndefined();
  expect(template.toJSON().Resources[logicalId(bucket)]).toMatchObject({ DeletionPolicy: 'Retain' });
}

/** Both buckets: a policy that denies every request not over TLS. */
function expectTlsOnly(bucket: Bucket) {
  template.hasResourceProperties('AWS::S3::BucketPolicy', {
    Bucket: { Ref: logicalId(bucket) },
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]),
    },
  });
}

describe('file bucket', () => {
  const bucket = () => propsOf(template, stack.files.bucket);

  test('private, S3-managed encryption, unversioned, owner-enforced', () => {
    expectPrivateRetained(stack.files.bucket);
  });

  test('TLS-only bucket policy', () => expectTlsOnly(stack.files.bucket));

  test('stale multipart uploads are aborted after 1 day', () => {
    expect(bucket().LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
    ]);
  });

  test('no CORS rule unless corsOrigins are given', () => {
    expect(bucket().CorsConfiguration).toBeUndefined();
  });

  test('CORS for the configured origins exposes ETag (browsers need it to complete multipart uploads)', () => {
    const cors = synth({ corsOrigins: 'https://acme.lightning.force.com,https://acme.my.salesforce.com' });
    expect(propsOf(cors.template, cors.stack.files.bucket).CorsConfiguration).toEqual({
      CorsRules: [
        expect.objectContaining({
          AllowedOrigins: ['https://acme.lightning.force.com', 'https://acme.my.salesforce.com'],
          AllowedMethods: ['PUT', 'GET', 'HEAD'],
          ExposedHeaders: ['ETag'],
        }),
      ],
    });
  });

  test('the construct checks its own props', () => {
    expect(() => new FileStore(new Stack(testApp(), 'S'), 'F', { corsOrigins: ['*'] })).toThrow(/https origin/);
    expect(() => new FileStore(new Stack(testApp(), 'S'), 'F', { abortIncompleteUploadsAfterDays: 0 })).toThrow(
      /abortIncompleteUploadsAfterDays/,
    );
  });
});

describe('job data bucket (claim check)', () => {
  const bucket = () => propsOf(template, stack.jobData.bucket);

  test('private, S3-managed encryption, unversioned, owner-enforced, retained', () => {
    expectPrivateRetained(stack.jobData.bucket);
  });

  test('TLS-only bucket policy', () => expectTlsOnly(stack.jobData.bucket));

  test('objects expire a day after the jobs that point at them (job TTL 30 days by default)', () => {
    expect(bucket().LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({ ExpirationInDays: 31, Status: 'Enabled' }),
    ]);
    const s = new Stack(testApp(), 'S');
    const d = new JobData(s, 'D', { jobTtl: Duration.days(7) });
    expect(propsOf(Template.fromStack(s), d.bucket).LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({ ExpirationInDays: 8 }),
    ]);
    expect(() => new JobData(new Stack(testApp(), 'S2'), 'D', { jobTtl: Duration.hours(12) })).toThrow(
      /whole number of days/,
    );
  });
});
