import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AccountPrincipal, ArnPrincipal } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { CrmBridgeConfig } from './config';
import { Api } from './constructs/api';
import { FileStore } from './constructs/file-store';
import { JobQueue } from './constructs/job-queue';
import { SalesforceAccess } from './constructs/salesforce-access';
import { Tables } from './constructs/tables';

export interface CrmBridgeStackProps extends StackProps {
  readonly config: CrmBridgeConfig;
}

/** crm-bridge: API -> controller -> SQS -> capped worker -> connectors; tables, file store, Salesforce access. */
export class CrmBridgeStack extends Stack {
  constructor(scope: Construct, id: string, props: CrmBridgeStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.destroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    const tables = new Tables(this, 'Tables', { removalPolicy });
    const files = new FileStore(this, 'Files', { corsOrigins: config.corsOrigins, removalPolicy });
    const jobs = new JobQueue(this, 'Jobs', {
      stage: config.stage,
      connectorsTable: tables.connectors,
      jobsTable: tables.jobs,
      maxConcurrency: config.workerConcurrency,
      reservedConcurrency: config.workerReservedConcurrency,
      removalPolicy,
    });
    const api = new Api(this, 'Api', {
      stage: config.stage,
      connectorsTable: tables.connectors,
      jobsTable: tables.jobs,
      queue: jobs.queue,
      filesTable: files.table,
      filesBucket: files.bucket,
      auth: config.apiAuth,
      removalPolicy,
    });

    new CfnOutput(this, 'ApiUrl', { value: api.restApi.url, description: 'Base URL for the Salesforce Named Credential' });
    new CfnOutput(this, 'ApiRegion', { value: this.region });
    new CfnOutput(this, 'ConnectorsTableName', { value: tables.connectors.tableName });
    new CfnOutput(this, 'JobsTableName', { value: tables.jobs.tableName });
    new CfnOutput(this, 'JobsQueueUrl', { value: jobs.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: jobs.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'FilesBucketName', { value: files.bucket.bucketName });
    new CfnOutput(this, 'FilesTableName', { value: files.table.tableName });
    if (api.apiKeyId) new CfnOutput(this, 'ApiKeyId', { value: api.apiKeyId, description: 'aws apigateway get-api-key --include-value --api-key <id> shows the value' });

    if (config.apiAuth === 'iam') {
      const externalId = config.salesforceExternalId ?? `crm-bridge-${config.stage}`;
      const access = new SalesforceAccess(this, 'Salesforce', {
        api: api.restApi,
        principal: config.salesforcePrincipalArn ? new ArnPrincipal(config.salesforcePrincipalArn) : new AccountPrincipal(this.account),
        externalId,
      });
      new CfnOutput(this, 'SalesforceRoleArn', { value: access.role.roleArn, description: 'External Credential (AWS Signature V4, STS role): role ARN' });
      new CfnOutput(this, 'SalesforceExternalId', { value: externalId, description: 'External Credential: external ID' });
    }
  }
}
