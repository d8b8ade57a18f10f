import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, HttpMethods, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface FileStoreProps {
  /**
   * Browser origins allowed to PUT/GET presigned URLs (Salesforce Lightning pages upload from the browser).
   * @default [] (no CORS rule)
   */
  readonly corsOrigins?: string[];
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** A private bucket for file bytes (reached only through presigned URLs) and the file metadata table. */
export class FileStore extends Construct {
  readonly bucket: Bucket;
  /** Partition key `fileId`; GSI `byRecordId` (recordId, createdAt) lists the files of a CRM record. */
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: FileStoreProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const corsOrigins = props.corsOrigins ?? [];
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      // Parts of abandoned multipart uploads are billed until aborted.
      lifecycleRules: [{ id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      cors: corsOrigins.length
        ? [{ allowedOrigins: corsOrigins, allowedMethods: [HttpMethods.PUT, HttpMethods.GET, HttpMethods.HEAD], allowedHeaders: ['*'], exposedHeaders: ['ETag'], maxAge: 3000 }]
        : undefined,
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
    this.table = new TableV2(this, 'Files', {
      partitionKey: { name: 'fileId', type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryptionV2.awsManagedKey(),
      removalPolicy,
      globalSecondaryIndexes: [{ indexName: 'byRecordId', partitionKey: { name: 'recordId', type: AttributeType.STRING }, sortKey: { name: 'createdAt', type: AttributeType.STRING } }],
    });
  }
}
