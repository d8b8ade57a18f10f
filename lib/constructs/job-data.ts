import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { acknowledge, wildcardResource } from '../nag';
import { JOB_DATA_PREFIX } from '../../lambdas/contract/storage';

export interface JobDataProps {
  /**
   * How long jobs stay readable (JOB_TTL_DAYS of the controller and worker):
   * objects expire a day after, so a job never outlives its payload or result.
   * @default Duration.days(30)
   */
  readonly jobTtl?: Duration;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Where S3 server access logs go. @default - none */
  readonly serverAccessLogsBucket?: IBucket;
}

/**
 * The claim-check bucket: payloads and results too large for a job item
 * (lambdas/domain/job-data.ts), as `payloads/<jobId>.json` and
 * `results/<jobId>.json`. Private, encrypted, TLS only; reached only by the
 * controller and the worker, each with the object actions it needs per prefix.
 */
export class JobData extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: JobDataProps = {}) {
    super(scope, id);
    const ttl = props.jobTtl ?? Duration.days(30);
    const days = ttl.toDays({ integral: false });
    if (!Number.isInteger(days) || days < 1)
      throw new Error(`JobData: jobTtl must be a whole number of days >= 1; got ${days}`);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    // Log delivery by bucket policy, as for the files bucket: the log bucket enforces bucket-owner object ownership (no ACLs).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: [{ id: 'ExpireWithJobs', expiration: Duration.days(days + 1) }],
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      serverAccessLogsPrefix: props.serverAccessLogsBucket ? 'job-data/' : undefined,
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
  }
}

/**
 * The controller writes payloads (it records the job) and reads results (GET
 * shows them; never the payload); the worker reads payloads and writes results
 * (and reads them back for a delivery to Salesforce resumed by a later message).
 */
export function grantJobData(bucket: IBucket, grantee: IGrantable & IConstruct, role: 'controller' | 'worker'): void {
  const statements =
    role === 'controller'
      ? [
          { sid: 'JobPayloads', actions: ['s3:PutObject'], prefix: JOB_DATA_PREFIX.payload },
          { sid: 'JobResults', actions: ['s3:GetObject'], prefix: JOB_DATA_PREFIX.result },
        ]
      : [
          { sid: 'JobPayloads', actions: ['s3:GetObject'], prefix: JOB_DATA_PREFIX.payload },
          { sid: 'JobResults', actions: ['s3:PutObject', 's3:GetObject'], prefix: JOB_DATA_PREFIX.result },
        ];
  for (const s of statements) {
    const objects = bucket.arnForObjects(`${s.prefix}*`);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ sid: s.sid, actions: s.actions, resources: [objects] }),
    );
    acknowledge(grantee, {
      [wildcardResource(grantee, objects)]:
        `Job ${s.prefix.split('/')[0]} are objects named by job id under one prefix of the job data bucket; no listing, no other prefix or bucket (test/cdk/iam.test.ts)`,
    });
  }
  // A customer-managed bucket key would need kms grants too; the bucket uses S3-managed keys.
}
