import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { CfnMalwareProtectionPlan } from 'aws-cdk-lib/aws-guardduty';
import { AnyPrincipal, Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, HttpMethods, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, wildcardResource } from '../nag';
import { tableDefaults } from './tables';
import { FILES_PREFIX, FILES_TABLE } from '../../lambdas/contract/storage';
import { SCAN_RESULT_EVENT } from '../../lambdas/contract/queue';

export interface FileStoreProps {
  /**
   * Browser origins allowed to PUT/GET presigned URLs (Lightning pages upload
   * straight from the browser). Each must be an https origin without a path.
   * @default [] (no CORS rule: server-side clients need none)
   */
  readonly corsOrigins?: string[];
  /**
   * Days before S3 aborts an unfinished multipart upload and frees its parts
   * (they are billed until then).
   * @default 1
   */
  readonly abortIncompleteUploadsAfterDays?: number;
  /**
   * What deleting the stack does to the bucket and the files table. DESTROY
   * also empties the bucket first (a custom resource deletes the objects).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Customer-managed KMS key for the files table.
   * @default - AWS managed key
   */
  readonly tableEncryptionKey?: IKey;
  /**
   * Days the files bucket's S3 server access logs are kept.
   * @default 90
   */
  readonly accessLogRetentionDays?: number;
}

/** A private bucket for file bytes (reached only through presigned URLs) and the file metadata table. */
export class FileStore extends Construct {
  readonly bucket: Bucket;
  /** Receives the files bucket's S3 server access logs (prefix `files/`). */
  readonly accessLogsBucket: Bucket;
  /** Partition key `fileId`; GSI `byRecordId` (recordId, createdAt) lists the files of a CRM record. */
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: FileStoreProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const corsOrigins = props.corsOrigins ?? [];
    for (const origin of corsOrigins) {
      if (!/^https:\/\/[^/\s]+$/.test(origin))
        throw new Error(
          `FileStore: corsOrigins entry "${origin}" must be an https origin without a path, such as https://acme.lightning.force.com`,
        );
    }
    const accessLogDays = props.accessLogRetentionDays ?? 90;
    if (!Number.isInteger(accessLogDays) || accessLogDays < 1)
      throw new Error(`FileStore: accessLogRetentionDays must be a whole number of days >= 1; got ${accessLogDays}`);
    const abortDays = props.abortIncompleteUploadsAfterDays ?? 1;
    if (!Number.isInteger(abortDays) || abortDays < 1)
      throw new Error(
        `FileStore: abortIncompleteUploadsAfterDays must be a whole number of days >= 1; got ${abortDays}`,
      );

    // S3 server access logs of the files bucket: who fetched or changed which file, including
    // through presigned URLs (which CloudTrail data events would bill per request).
    // Log delivery through a bucket policy (logging.s3.amazonaws.com, this bucket and account
    // only), not the LogDeliveryWrite ACL, so ACLs stay off on both buckets.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // Server access logs can only be written with SSE-S3.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(accessLogDays) }],
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
    acknowledge(this.accessLogsBucket, {
      'AwsSolutions-S1':
        "This bucket receives the files bucket's access logs; logging it too would only log the log delivery",
    });

    this.bucket = new Bucket(this, 'Bucket', {
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'files/',
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // ACLs off: every object belongs to the bucket owner whoever uploaded it through a presigned URL.
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // A delete through the API should free the bytes, not keep a noncurrent version.
      versioned: false,
      lifecycleRules: [
        { id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(abortDays) },
      ],
      cors: corsOrigins.length
        ? [
            {
              allowedOrigins: corsOrigins,
              allowedMethods: [HttpMethods.PUT, HttpMethods.GET, HttpMethods.HEAD],
              allowedHeaders: ['*'],
              // The browser must read each part's ETag to complete a multipart upload.
              exposedHeaders: ['ETag'],
              maxAge: 3000,
            },
          ]
        : undefined,
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });

    // The construct id is part of the logical id: renaming it would replace the table.
    const { byRecord } = FILES_TABLE;
    this.table = new TableV2(this, 'Files', {
      ...tableDefaults(removalPolicy, props.tableEncryptionKey),
      partitionKey: { name: FILES_TABLE.partitionKey, type: AttributeType.STRING },
      globalSecondaryIndexes: [
        {
          indexName: byRecord.indexName,
          partitionKey: { name: byRecord.partitionKey, type: AttributeType.STRING },
          sortKey: { name: byRecord.sortKey, type: AttributeType.STRING },
        },
      ],
    });
  }
}

export interface MalwareScanProps {
  /** The files bucket GuardDuty scans. */
  readonly bucket: Bucket;
  /** Receives GuardDuty's scan result events (the worker's job queue). */
  readonly queue: IQueue;
}

/** The tag GuardDuty Malware Protection for S3 puts on each scanned object. */
export const SCAN_STATUS_TAG = 'GuardDutyMalwareScanStatus';

/**
 * Stack option malwareScan=guardduty: GuardDuty Malware Protection for S3 scans
 * every new object of the files bucket and tags it with its result, and an
 * EventBridge rule delivers each scan result event, unchanged, to the job queue,
 * where the worker makes the file AVAILABLE, QUARANTINED or SCAN_FAILED
 * (lambdas/files/scan-result.ts).
 */
export class MalwareScan extends Construct {
  readonly plan: CfnMalwareProtectionPlan;
  readonly role: Role;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: MalwareScanProps) {
    super(scope, id);
    const { bucket } = props;
    const stack = Stack.of(this);
    // The permissions GuardDuty documents for a protection plan's role, scoped to this bucket
    // and to the EventBridge rule GuardDuty manages for it.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('malware-protection-plan.guardduty.amazonaws.com'),
    });
    const managedRule = stack.formatArn({
      service: 'events',
      resource: 'rule',
      resourceName: 'DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3*',
    });
    this.role.addToPolicy(
      new PolicyStatement({
        sid: 'ManagedRule',
        actions: ['events:PutRule', 'events:DeleteRule', 'events:PutTargets', 'events:RemoveTargets'],
        resources: [managedRule],
        conditions: { StringLike: { 'events:ManagedBy': 'malware-protection-plan.guardduty.amazonaws.com' } },
      }),
    );
    this.role.addToPolicy(
      new PolicyStatement({
        sid: 'ReadManagedRule',
        actions: ['events:DescribeRule', 'events:ListTargetsByRule'],
        resources: [managedRule],
      }),
    );
    this.role.addToPolicy(
      new PolicyStatement({
        sid: 'BucketNotifications',
        actions: ['s3:PutBucketNotification', 's3:GetBucketNotification', 's3:ListBucket'],
        resources: [bucket.bucketArn],
      }),
    );
    this.role.addToPolicy(
      new PolicyStatement({
        sid: 'ValidationObject',
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects('malware-protection-resource-validation-object')],
      }),
    );
    this.role.addToPolicy(
      new PolicyStatement({
        sid: 'ScanAndTag',
        actions: [
          's3:GetObject',
          's3:GetObjectVersion',
          's3:GetObjectTagging',
          's3:GetObjectVersionTagging',
          's3:PutObjectTagging',
          's3:PutObjectVersionTagging',
        ],
        resources: [bucket.arnForObjects('*')],
      }),
    );
    acknowledge(this.role, {
      [wildcardResource(this, bucket.arnForObjects('*'))]:
        'GuardDuty scans and tags every object of the files bucket (each file is its own key); the statement is limited to this bucket',
      [wildcardResource(this, managedRule)]:
        'GuardDuty names the EventBridge rule it manages for the plan itself; the prefix (and events:ManagedBy on writes) is what its documentation scopes the role to',
    });

    this.plan = new CfnMalwareProtectionPlan(this, 'Plan', {
      role: this.role.roleArn,
      protectedResource: { s3Bucket: { bucketName: bucket.bucketName, objectPrefixes: [FILES_PREFIX] } },
      actions: { tagging: { status: 'ENABLED' } },
    });
    // The plan checks the role's permissions when it is created.
    this.plan.node.addDependency(this.role);

    // Defence in depth: even a presigned URL cannot fetch an object GuardDuty tagged as a threat.
    bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'DenyObjectsWithThreats',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [bucket.arnForObjects('*')],
        conditions: {
          StringEquals: { [`s3:ExistingObjectTag/${SCAN_STATUS_TAG}`]: 'THREATS_FOUND' },
          ArnNotEquals: { 'aws:PrincipalArn': this.role.roleArn },
        },
      }),
    );

    this.rule = new Rule(this, 'ScanResults', {
      description: 'GuardDuty malware scan results for the files bucket, to the job queue',
      eventPattern: {
        source: [SCAN_RESULT_EVENT.source],
        detailType: [SCAN_RESULT_EVENT.detailType],
        detail: { s3ObjectDetails: { bucketName: [bucket.bucketName] } },
      },
      targets: [new SqsQueue(props.queue)],
    });
  }
}
