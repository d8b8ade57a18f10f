/**
 * Names the deployed stack and its readers agree on: the stack name and outputs
 * the CLI reads (DescribeStacks), the SSM path of connector secrets, the metrics
 * the worker writes and the alarms read.
 */

/** A stage names the stack, the API stage and the SSM path: 1-20 lowercase letters, digits or "-", starting with a letter. */
export const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;
export const DEFAULT_STAGE = 'dev';

/** The stack of a stage, `CrmBridge-<stage>` (the CLI's default for --stack). */
export function stackName(stage: string): string {
  return `CrmBridge-${stage}`;
}

/** Stack output ids: the CLI and the Salesforce setup guide read them, so they stay stable. */
export const STACK_OUTPUTS = {
  apiUrl: 'ApiUrl',
  apiRegion: 'ApiRegion',
  apiKeyId: 'ApiKeyId',
  alarmTopicArn: 'AlarmTopicArn',
  connectorsTableName: 'ConnectorsTableName',
  jobsTableName: 'JobsTableName',
  jobsQueueUrl: 'JobsQueueUrl',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  filesBucketName: 'FilesBucketName',
  filesTableName: 'FilesTableName',
  salesforceRoleArn: 'SalesforceRoleArn',
  salesforceExternalId: 'SalesforceExternalId',
} as const;

/** The SSM path under which a stage's connector secrets live (the worker may read nothing else). */
export function secretsPath(stage: string): string {
  return `/crm-bridge/${stage}/`;
}

/** The SSM path of all connectors' secrets, or of one connector's. */
export function connectorSecretsPath(stage: string, connectorId?: string): string {
  return `${secretsPath(stage)}connectors/${connectorId === undefined ? '' : `${connectorId}/`}`;
}

/** Where one connector secret lives: `/crm-bridge/<stage>/connectors/<connectorId>/<name>`. */
export function secretParameterName(stage: string, connectorId: string, name: string): string {
  return `${connectorSecretsPath(stage, connectorId)}${name}`;
}

/** CloudWatch namespace of the job metrics (EMF, one dimension `connectorId`). */
export const METRICS_NAMESPACE = 'CrmBridge';

/** Metric names: lambdas/adapters/job-events.ts writes them, the stack's alarms and dashboard read them. */
export const METRIC = {
  accepted: 'JobsAccepted',
  succeeded: 'JobsSucceeded',
  failed: 'JobsFailed',
  attempts: 'Attempts',
  attemptsFailed: 'AttemptsFailed',
  upstreamLatency: 'UpstreamLatency',
  queueWait: 'QueueWait',
  delivered: 'Deliveries',
  deliveriesFailed: 'DeliveriesFailed',
  deadLettered: 'DeadLettered',
  /** 100 for a failed job, 0 for a succeeded one: its average is the failure rate in percent (one metric, so one Metrics Insights query). */
  failureRate: 'FailureRate',
  waits: { CIRCUIT_OPEN: 'WaitsCircuitOpen', RATE_LIMIT: 'WaitsRateLimit', CONCURRENCY_LIMIT: 'WaitsConcurrencyLimit' },
} as const;
