import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  ApiKeySourceType,
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  Period,
  ResponseType,
  RestApi,
  type MethodOptions,
} from 'aws-cdk-lib/aws-apigateway';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge, acknowledgeHubFunction, wildcardResource } from '../nag';
import { daysEnv, hubFunction, secondsEnv, wholeSeconds } from './lambda-defaults';
import { bindBucketObjects, bindJobData, bindJobQueue, bindTable } from './bindings';
import { JOB_INDEXES } from '../../lambdas/contract/job-indexes';
import { INT_SETTINGS } from '../../lambdas/contract/env';
import { FILES_TABLE } from '../../lambdas/contract/storage';

export type ApiAuthMode = 'iam' | 'apiKey';

/**
 * The v1 routes the controller serves (lambdas/routes/*-routes.ts). Every route is
 * authenticated except the health check, which load balancers and humans call bare.
 */
export const API_ROUTES: ReadonlyArray<{ readonly method: string; readonly path: string; readonly open?: boolean }> = [
  { method: 'GET', path: '/v1/health', open: true },
  { method: 'POST', path: '/v1/callouts/{connectorId}/{operation}' },
  { method: 'GET', path: '/v1/jobs' },
  { method: 'GET', path: '/v1/jobs/{jobId}' },
  { method: 'POST', path: '/v1/jobs/{jobId}/retry' },
  { method: 'POST', path: '/v1/files' },
  { method: 'GET', path: '/v1/files' },
  { method: 'GET', path: '/v1/files/{fileId}' },
  { method: 'DELETE', path: '/v1/files/{fileId}' },
  { method: 'POST', path: '/v1/files/{fileId}/complete' },
  // Fresh presigned part URLs for resuming a multipart upload.
  { method: 'POST', path: '/v1/files/{fileId}/parts' },
  // Moving existing Salesforce Files to S3 (run by the worker in batches).
  { method: 'POST', path: '/v1/files/migrations' },
  { method: 'GET', path: '/v1/files/migrations/{migrationId}' },
  { method: 'GET', path: '/v1/files/migrations/{migrationId}/files' },
];

/**
 * Errors API Gateway answers itself, in the project's error format so callers parse
 * one shape. Status codes left undefined keep API Gateway's own.
 */
const GATEWAY_ERRORS: ReadonlyArray<{ type: ResponseType; code: string; status?: string; message?: string }> = [
  { type: ResponseType.DEFAULT_4XX, code: 'INVALID_REQUEST' },
  { type: ResponseType.DEFAULT_5XX, code: 'INTERNAL_ERROR' },
  { type: ResponseType.ACCESS_DENIED, code: 'FORBIDDEN', status: '403' },
  { type: ResponseType.UNAUTHORIZED, code: 'UNAUTHORIZED', status: '401' },
  // Also what API Gateway answers for an unknown path on an IAM-authorized API.
  {
    type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
    code: 'FORBIDDEN',
    status: '403',
    message:
      'Missing Authentication Token: the request is not signed, or the path is wrong (an unknown path answers this too). Check the URL is the stack output ApiUrl followed by /v1/...',
  },
  { type: ResponseType.INVALID_SIGNATURE, code: 'FORBIDDEN', status: '403' },
  { type: ResponseType.EXPIRED_TOKEN, code: 'FORBIDDEN', status: '403' },
  { type: ResponseType.INVALID_API_KEY, code: 'FORBIDDEN', status: '403' },
  { type: ResponseType.THROTTLED, code: 'THROTTLED', status: '429' },
  { type: ResponseType.QUOTA_EXCEEDED, code: 'QUOTA_EXCEEDED', status: '429' },
  { type: ResponseType.REQUEST_TOO_LARGE, code: 'PAYLOAD_TOO_LARGE', status: '413' },
  // Same code the controller's router uses for an unknown route.
  { type: ResponseType.RESOURCE_NOT_FOUND, code: 'ROUTE_NOT_FOUND', status: '404' },
];

export interface ApiProps {
  /** API Gateway stage name (paths are `/<stage>/v1/...`). */
  readonly stage: string;
  readonly connectorsTable: ITableV2;
  readonly jobsTable: ITableV2;
  readonly queue: IQueue;
  readonly filesTable: ITableV2;
  readonly filesBucket: IBucket;
  /** Files migrations (POST /v1/files/migrations): the controller records and reads them. @default - the migration routes answer 500 */
  readonly migrationsTable?: ITableV2;
  /** The claim-check bucket (JobData): the controller writes payloads and reads results there. */
  readonly jobDataBucket: IBucket;
  /**
   * How callers authenticate: "iam" (SigV4, for a Salesforce Named Credential with an
   * AWS Signature V4 External Credential) or "apiKey" (x-api-key header, usage plan).
   * @default 'iam'
   */
  readonly auth?: ApiAuthMode;
  /** Stage-wide steady-state requests per second. @default 100 */
  readonly throttleRateLimit?: number;
  /** Stage-wide burst. @default 200 */
  readonly throttleBurstLimit?: number;
  /** Per-key requests per second (apiKey mode). @default - throttleRateLimit */
  readonly usagePlanRateLimit?: number;
  /** Per-key burst (apiKey mode). @default - throttleBurstLimit */
  readonly usagePlanBurstLimit?: number;
  /** Per-key requests per day (apiKey mode). @default 100000 */
  readonly usagePlanDailyQuota?: number;
  /**
   * Let this stack set the account's API Gateway CloudWatch Logs role (an account
   * and region-wide setting). Access logging fails at deploy without one, as on a
   * new account; set false where the account already has it.
   * @default true
   */
  readonly cloudWatchRole?: boolean;
  /** Controller timeout; API Gateway stops waiting at 29 s. @default Duration.seconds(29) */
  readonly controllerTimeout?: Duration;
  /** @default 1024 */
  readonly controllerMemorySize?: number;
  /** CONNECTOR_CACHE_TTL_SECONDS. @default Duration.seconds(30) */
  readonly connectorCacheTtl?: Duration;
  /** JOB_TTL_DAYS: how long jobs stay readable. @default Duration.days(30) */
  readonly jobTtl?: Duration;
  /** FILE_URL_EXPIRY_SECONDS: presigned URL lifetime, 1 s to 7 days (SigV4 limit). @default Duration.minutes(15) */
  readonly fileUrlExpiry?: Duration;
  /** MAX_FILE_SIZE_BYTES. @default 5 TiB (5497558138880) */
  readonly maxFileSizeBytes?: number;
  /** MULTIPART_THRESHOLD_BYTES: larger files upload in parts; 5 MiB to 5 GiB (S3 part and single-PUT limits). @default 8 MiB (8388608) */
  readonly multipartThresholdBytes?: number;
  /** Controller and access log groups. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The public REST API (v1 routes) and the controller Lambda behind every route. */
export class Api extends Construct {
  readonly restApi: RestApi;
  readonly controller: NodejsFunction;
  /** Set in apiKey mode. The key's value stays in API Gateway and is never output. */
  readonly apiKeyId?: string;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const auth = props.auth ?? 'iam';
    if (auth !== 'iam' && auth !== 'apiKey') throw new Error(`Api: auth must be "iam" or "apiKey"; got "${auth}"`);
    const rate = props.throttleRateLimit ?? 100;
    const burst = props.throttleBurstLimit ?? 200;
    const keyRate = props.usagePlanRateLimit ?? rate;
    const keyBurst = props.usagePlanBurstLimit ?? burst;
    const quota = props.usagePlanDailyQuota ?? 100_000;
    for (const [name, value] of Object.entries({ throttleRateLimit: rate, usagePlanRateLimit: keyRate })) {
      if (!(value > 0)) throw new Error(`Api: ${name} must be a positive number of requests per second; got ${value}`);
    }
    for (const [name, value] of Object.entries({
      throttleBurstLimit: burst,
      usagePlanBurstLimit: keyBurst,
      usagePlanDailyQuota: quota,
    })) {
      if (!Number.isInteger(value) || value < 1)
        throw new Error(`Api: ${name} must be a positive integer; got ${value}`);
    }
    const fileSize = INT_SETTINGS.MAX_FILE_SIZE_BYTES;
    const maxFileSize = props.maxFileSizeBytes ?? fileSize.default;
    if (!Number.isSafeInteger(maxFileSize) || maxFileSize < fileSize.min)
      throw new Error(`Api: maxFileSizeBytes must be a positive integer; got ${maxFileSize}`);
    if (maxFileSize > fileSize.max)
      throw new Error(
        `Api: maxFileSizeBytes must be at most ${fileSize.max} (5 TiB, S3's largest object); got ${maxFileSize}`,
      );
    const threshold = INT_SETTINGS.MULTIPART_THRESHOLD_BYTES;
    const multipartThreshold = props.multipartThresholdBytes ?? threshold.default;
    if (
      !Number.isInteger(multipartThreshold) ||
      multipartThreshold < threshold.min ||
      multipartThreshold > threshold.max
    ) {
      throw new Error(
        `Api: multipartThresholdBytes must be from 5 MiB (S3's minimum part size) to 5 GiB (S3's largest single PUT); got ${multipartThreshold}`,
      );
    }
    const timeout = props.controllerTimeout ?? Duration.seconds(29);
    wholeSeconds('Api: controllerTimeout', timeout, 1, 29);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.controller = hubFunction(this, 'Controller', {
      entry: 'lambdas/api.ts',
      description: 'crm-bridge controller: validates callouts, records and enqueues jobs, serves jobs and files',
      timeout,
      memorySize: props.controllerMemorySize,
      removalPolicy,
      // Settings (lambdas/contract/env.ts, CONTROLLER_ENV); each resource below comes with its grant.
      environment: {
        // Not read by the controller; names the stage in the function's configuration.
        STAGE: props.stage,
        CONNECTOR_CACHE_TTL_SECONDS: secondsEnv(
          'Api: connectorCacheTtl',
          props.connectorCacheTtl ?? Duration.seconds(INT_SETTINGS.CONNECTOR_CACHE_TTL_SECONDS.default),
          'CONNECTOR_CACHE_TTL_SECONDS',
        ),
        JOB_TTL_DAYS: daysEnv('Api: jobTtl', props.jobTtl ?? Duration.days(INT_SETTINGS.JOB_TTL_DAYS.default)),
        FILE_URL_EXPIRY_SECONDS: secondsEnv(
          'Api: fileUrlExpiry',
          props.fileUrlExpiry ?? Duration.seconds(INT_SETTINGS.FILE_URL_EXPIRY_SECONDS.default),
          'FILE_URL_EXPIRY_SECONDS',
        ),
        MAX_FILE_SIZE_BYTES: String(maxFileSize),
        MULTIPART_THRESHOLD_BYTES: String(multipartThreshold),
        ...(props.migrationsTable && { MIGRATIONS_TABLE: props.migrationsTable.tableName }),
      },
    });
    // Exactly what lambdas/api.ts's code paths call (ConnectorStore.get, JobStore, FileService):
    // no Scan, no batch calls, and the files index by its name.
    bindTable(this.controller, 'CONNECTORS_TABLE', props.connectorsTable, {
      sid: 'ReadConnectors',
      actions: ['dynamodb:GetItem'],
    });
    bindTable(this.controller, 'JOBS_TABLE', props.jobsTable, {
      sid: 'Jobs',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      // GET /v1/jobs reads the list indexes (lambdas/contract/job-indexes.ts), never the table.
      query: { sid: 'JobsList', indexes: Object.keys(JOB_INDEXES) },
    });
    bindTable(this.controller, 'FILES_TABLE', props.filesTable, {
      sid: 'Files',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      query: { sid: 'FilesByRecord', indexes: [FILES_TABLE.byRecord.indexName] },
    });
    if (props.migrationsTable) {
      // A migration is recorded (Put), closed when it cannot be queued (Update), read with its audit rows (Get, Query).
      bindTable(this.controller, 'MIGRATIONS_TABLE', props.migrationsTable, {
        sid: 'Migrations',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      });
    }
    bindJobQueue(this.controller, props.queue, 'send');
    bindJobData(this.controller, props.jobDataBucket, 'controller');
    // What presigning, completing and deleting uploads need: object actions only, no listing.
    // (Without s3:ListBucket a HeadObject on a missing key answers 403 instead of 404; the code treats both alike.)
    bindBucketObjects(this.controller, 'FILES_BUCKET', props.filesBucket, {
      sid: 'FileObjects',
      actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
      keys: '*',
    });
    acknowledgeHubFunction(this.controller);
    acknowledge(this.controller, {
      [wildcardResource(this, props.filesBucket.arnForObjects('*'))]:
        'File objects are keyed by ids generated per upload; the controller has object actions only (no listing, no bucket actions) on this one bucket',
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy });
    this.restApi = new RestApi(this, 'RestApi', {
      restApiName: `crm-bridge-${props.stage}`,
      description: `crm-bridge v1 API (${auth} auth)`,
      // Salesforce calls from its own data centres: a regional endpoint skips the CloudFront hop.
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      apiKeySourceType: auth === 'apiKey' ? ApiKeySourceType.HEADER : undefined,
      cloudWatchRole: props.cloudWatchRole ?? true,
      deployOptions: {
        stageName: props.stage,
        tracingEnabled: true,
        // Execution logs for errors only (integration failures, throttling, refused
        // requests), never bodies: dataTraceEnabled stays off. Needs the account's logging role (cloudWatchRole).
        loggingLevel: MethodLoggingLevel.ERROR,
        throttlingRateLimit: rate,
        throttlingBurstLimit: burst,
        // Bodies are never logged (dataTraceEnabled stays off): they carry CRM data.
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.custom(
          JSON.stringify({
            requestId: AccessLogField.contextRequestId(),
            requestTime: AccessLogField.contextRequestTime(),
            ip: AccessLogField.contextIdentitySourceIp(),
            caller: AccessLogField.contextIdentityCaller(),
            user: AccessLogField.contextIdentityUser(),
            apiKeyId: AccessLogField.contextIdentityApiKeyId(),
            httpMethod: AccessLogField.contextHttpMethod(),
            resourcePath: AccessLogField.contextResourcePath(),
            status: AccessLogField.contextStatus(),
            responseLength: AccessLogField.contextResponseLength(),
            responseLatency: AccessLogField.contextResponseLatency(),
            integrationLatency: AccessLogField.contextIntegrationLatency(),
            error: AccessLogField.contextErrorMessage(),
            errorType: AccessLogField.contextErrorResponseType(),
          }),
        ),
      },
    });

    for (const { type, code, status, message } of GATEWAY_ERRORS) {
      this.restApi.addGatewayResponse(`Error${type.responseType}`, {
        type,
        statusCode: status,
        responseHeaders: { 'Content-Type': "'application/json'" },
        // messageString is API Gateway's message already JSON-quoted.
        templates: {
          'application/json': `{"error":{"code":"${code}","message":${message ? JSON.stringify(message) : '$context.error.messageString'}}}`,
        },
      });
    }

    // One invoke permission for the whole API instead of two per method keeps the function policy small.
    const integration = new LambdaIntegration(this.controller, { scopePermissionToMethod: false });
    const secured: MethodOptions =
      auth === 'iam'
        ? { authorizationType: AuthorizationType.IAM }
        : { authorizationType: AuthorizationType.NONE, apiKeyRequired: true };
    // API Gateway refuses a request without the route's required parameters (400 INVALID_REQUEST,
    // from the DEFAULT_4XX response) before the controller runs. Bodies are validated by the
    // controller alone, so the rules are one set of zod schemas, the same behind the local hub.
    const validator = this.restApi.addRequestValidator('RequestValidator', {
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    for (const route of API_ROUTES) {
      const requestParameters: Record<string, boolean> = Object.fromEntries(
        [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => [`method.request.path.${m[1]}`, true]),
      );
      if (route.method === 'GET' && route.path === '/v1/files')
        requestParameters['method.request.querystring.recordId'] = true;
      const method = this.restApi.root.resourceForPath(route.path).addMethod(route.method, integration, {
        ...(route.open ? { authorizationType: AuthorizationType.NONE } : secured),
        requestValidator: validator,
        requestParameters,
      });
      acknowledge(method, {
        'AwsSolutions-COG4':
          "Callers are Salesforce orgs and services, not Cognito users: they sign with SigV4 (IAM auth) or send the usage plan's API key",
        ...(route.open && {
          'AwsSolutions-APIG4':
            'The health check is public on purpose (load balancers, humans); it answers {"status":"ok"} and reads no data',
        }),
        ...(!route.open &&
          auth === 'apiKey' && {
            'AwsSolutions-APIG4':
              'API key mode: API Gateway refuses every call without a valid x-api-key of the usage plan (apiKeyRequired), before the controller runs',
          }),
      });
    }
    const cloudWatchRole = this.restApi.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      acknowledge(cloudWatchRole, {
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]':
          "The account's API Gateway logging role: AWS's managed policy is what the service needs to write execution and access logs, and AWS keeps it current",
      });
    }
    acknowledge(this.restApi.deploymentStage, {
      'AwsSolutions-APIG3':
        'No WAF web ACL by default (it has a monthly cost): every route but the health check is authenticated, and the stage and usage plan throttle callers. Associate a web ACL with the stage where a policy requires one',
    });

    if (auth === 'apiKey') {
      const plan = this.restApi.addUsagePlan('UsagePlan', {
        name: `crm-bridge-${props.stage}`,
        throttle: { rateLimit: keyRate, burstLimit: keyBurst },
        quota: { limit: quota, period: Period.DAY },
        apiStages: [{ api: this.restApi, stage: this.restApi.deploymentStage }],
      });
      // API Gateway generates the value; read it with `aws apigateway get-api-key --include-value`.
      const key = this.restApi.addApiKey('ApiKey', {
        description: `crm-bridge ${props.stage}: Salesforce Named Credential (custom header x-api-key)`,
      });
      plan.addApiKey(key);
      this.apiKeyId = key.keyId;
    }
  }
}
