import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AccountPrincipal, ArnPrincipal, type IPrincipal } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { CrmBridgeConfig } from './config';
import { Api } from './constructs/api';
import { FileStore, MalwareScan } from './constructs/file-store';
import { JobData } from './constructs/job-data';
import { JobPipeline } from './constructs/job-pipeline';
import { Monitoring } from './constructs/monitoring';
import { SalesforceAccess } from './constructs/salesforce-access';
import { Tables } from './constructs/tables';
import { setChoiceEnv, setResourceEnv } from './constructs/bindings';
import { STACK_OUTPUTS } from '../lambdas/contract/stack';

export interface CrmBridgeStackProps extends StackProps {
  /** Validated settings, usually `readConfig()` of the app's context. */
  readonly config: CrmBridgeConfig;
}

/**
 * crm-bridge: API -> controller -> SQS -> capped worker -> external services;
 * connectors and jobs in DynamoDB, secrets in SSM, files in S3.
 * Output ids (STACK_OUTPUTS) are read by the CLI (DescribeStacks): keep them stable.
 */
export class CrmBridgeStack extends Stack {
  readonly api: Api;
  readonly jobs: JobPipeline;
  readonly tables: Tables;
  readonly files: FileStore;
  /** Payloads and results too large for a job item (claim check). */
  readonly jobData: JobData;
  /** Present when the API uses IAM auth. */
  readonly salesforce?: SalesforceAccess;
  /** Alarms (SNS topic) and the dashboard. */
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: CrmBridgeStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.tables = new Tables(this, 'Tables', { removalPolicy });
    this.files = new FileStore(this, 'Files', { corsOrigins: config.corsOrigins, removalPolicy });
    this.jobData = new JobData(this, 'JobData', { removalPolicy, serverAccessLogsBucket: this.files.accessLogsBucket });
    this.jobs = new JobPipeline(this, 'Jobs', {
      stage: config.stage,
      connectorsTable: this.tables.connectors,
      jobsTable: this.tables.jobs,
      filesTable: this.files.table,
      jobDataBucket: this.jobData.bucket,
      migrationsTable: this.tables.migrations,
      filesBucket: this.files.bucket,
      maxConcurrency: config.workerConcurrency,
      reservedConcurrency: config.workerReservedConcurrency,
      maxReceiveCount: config.maxReceiveCount,
      removalPolicy,
      allowPrivateTargets: config.allowPrivateTargets,
    });
    this.api = new Api(this, 'Api', {
      stage: config.stage,
      auth: config.apiAuth,
      connectorsTable: this.tables.connectors,
      jobsTable: this.tables.jobs,
      queue: this.jobs.queue,
      filesTable: this.files.table,
      filesBucket: this.files.bucket,
      jobDataBucket: this.jobData.bucket,
      migrationsTable: this.tables.migrations,
      removalPolicy,
    });

    if (config.malwareScan === 'guardduty') {
      new MalwareScan(this, 'MalwareScan', { bucket: this.files.bucket, queue: this.jobs.queue });
      // Completed files wait in SCANNING; the worker applies the results for objects of this bucket only.
      setChoiceEnv(this.api.controller, 'MALWARE_SCAN', 'guardduty');
      setResourceEnv(this.jobs.worker, 'FILES_BUCKET', this.files.bucket.bucketName);
    }
    this.monitoring = new Monitoring(this, 'Monitoring', {
      queue: this.jobs.queue,
      deadLetterQueue: this.jobs.deadLetterQueue,
      worker: this.jobs.worker,
      api: this.api.restApi,
      alarmEmail: config.alarmEmail,
      malwareScan: config.malwareScan === 'guardduty',
    });
    new CfnOutput(this, STACK_OUTPUTS.alarmTopicArn, {
      value: this.monitoring.topic.topicArn,
      description: 'SNS topic of the alarms: subscribe more endpoints here',
    });

    // RestApi.url ends in "/": the Named Credential URL must not (Apex appends /v1/...), so it is built without one.
    const apiUrl = `https://${this.api.restApi.restApiId}.execute-api.${this.region}.${this.urlSuffix}/${this.api.restApi.deploymentStage.stageName}`;
    new CfnOutput(this, STACK_OUTPUTS.apiUrl, {
      value: apiUrl,
      description: 'API base URL, no trailing slash (append /v1/...): the Salesforce Named Credential URL',
    });
    new CfnOutput(this, STACK_OUTPUTS.apiRegion, {
      value: this.region,
      description: 'Region for SigV4 signing (External Credential)',
    });
    new CfnOutput(this, STACK_OUTPUTS.connectorsTableName, { value: this.tables.connectors.tableName });
    new CfnOutput(this, STACK_OUTPUTS.jobsTableName, { value: this.tables.jobs.tableName });
    new CfnOutput(this, STACK_OUTPUTS.jobsQueueUrl, { value: this.jobs.queue.queueUrl });
    new CfnOutput(this, STACK_OUTPUTS.deadLetterQueueUrl, {
      value: this.jobs.deadLetterQueue.queueUrl,
      description: 'Failed jobs: npx crm-bridge dlq list / replay',
    });
    new CfnOutput(this, STACK_OUTPUTS.filesBucketName, { value: this.files.bucket.bucketName });
    new CfnOutput(this, STACK_OUTPUTS.filesTableName, { value: this.files.table.tableName });

    if (this.api.apiKeyId) {
      new CfnOutput(this, STACK_OUTPUTS.apiKeyId, {
        value: this.api.apiKeyId,
        description: 'The key value is not output: aws apigateway get-api-key --include-value --api-key <id>',
      });
    }

    if (config.apiAuth === 'iam') {
      this.salesforce = new SalesforceAccess(this, 'Salesforce', {
        api: this.api.restApi,
        principal: salesforcePrincipal(config.salesforcePrincipalArn, this.account),
        externalId: config.salesforceExternalId,
      });
      new CfnOutput(this, STACK_OUTPUTS.salesforceRoleArn, {
        value: this.salesforce.role.roleArn,
        description: 'External Credential (AWS Signature V4, STS role): role ARN',
      });
      new CfnOutput(this, STACK_OUTPUTS.salesforceExternalId, {
        value: config.salesforceExternalId,
        description: 'External Credential: external ID',
      });
    }
  }
}

/** An account id trusts that account's root (its admins delegate); an ARN trusts that principal; nothing trusts this account. */
function salesforcePrincipal(arnOrAccount: string | undefined, ownAccount: string): IPrincipal {
  if (arnOrAccount === undefined) return new AccountPrincipal(ownAccount);
  return /^\d{12}$/.test(arnOrAccount) ? new AccountPrincipal(arnOrAccount) : new ArnPrincipal(arnOrAccount);
}
