import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiKeySourceType,
  AuthorizationType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  Period,
  ResponseType,
  RestApi,
  type IResource,
} from 'aws-cdk-lib/aws-apigateway';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { lambdaFunction } from './lambda-defaults';

export interface ApiProps {
  readonly stage: string;
  readonly connectorsTable: ITableV2;
  readonly jobsTable: ITableV2;
  readonly queue: IQueue;
  readonly filesTable: ITableV2;
  readonly filesBucket: IBucket;
  /**
   * How callers authenticate: "iam" (SigV4, for a Salesforce Named Credential with an AWS Signature V4
   * External Credential) or "apiKey" (x-api-key header, with a usage plan).
   * @default 'iam'
   */
  readonly auth?: 'iam' | 'apiKey';
  /** Steady-state requests per second for the stage. @default 100 */
  readonly throttleRateLimit?: number;
  /** @default 200 */
  readonly throttleBurstLimit?: number;
  /** Requests per day per API key (apiKey mode). @default 100000 */
  readonly dailyQuota?: number;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** Gateway answers in the project's error format, so callers parse one shape. */
const GATEWAY_ERRORS: Array<[ResponseType, string, string?]> = [
  [ResponseType.DEFAULT_4XX, 'BAD_REQUEST'],
  [ResponseType.DEFAULT_5XX, 'INTERNAL_ERROR'],
  [ResponseType.ACCESS_DENIED, 'FORBIDDEN', '403'],
  [ResponseType.UNAUTHORIZED, 'UNAUTHORIZED', '401'],
  [ResponseType.MISSING_AUTHENTICATION_TOKEN, 'FORBIDDEN', '403'],
  [ResponseType.INVALID_SIGNATURE, 'FORBIDDEN', '403'],
  [ResponseType.EXPIRED_TOKEN, 'FORBIDDEN', '403'],
  [ResponseType.INVALID_API_KEY, 'FORBIDDEN', '403'],
  [ResponseType.THROTTLED, 'THROTTLED', '429'],
  [ResponseType.QUOTA_EXCEEDED, 'QUOTA_EXCEEDED', '429'],
  [ResponseType.REQUEST_TOO_LARGE, 'PAYLOAD_TOO_LARGE', '413'],
  [ResponseType.RESOURCE_NOT_FOUND, 'ROUTE_NOT_FOUND', '404'],
];

/** The public REST API (v1 routes) and the controller Lambda behind it. */
export class Api extends Construct {
  readonly restApi: RestApi;
  readonly controller: NodejsFunction;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const auth = props.auth ?? 'iam';
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const rate = props.throttleRateLimit ?? 100;
    const burst = props.throttleBurstLimit ?? 200;
    if (rate <= 0 || burst <= 0) throw new Error('Api: throttle limits must be positive');

    this.controller = lambdaFunction(this, 'Controller', 'lambdas/api.ts', {
      description: 'crm-bridge controller: validates callouts, records and enqueues jobs, serves jobs and files',
      removalPolicy,
      environment: {
        STAGE: props.stage,
        CONNECTORS_TABLE: props.connectorsTable.tableName,
        JOBS_TABLE: props.jobsTable.tableName,
        JOBS_QUEUE_URL: props.queue.queueUrl,
        FILES_TABLE: props.filesTable.tableName,
        FILES_BUCKET: props.filesBucket.bucketName,
        CONNECTOR_CACHE_TTL_SECONDS: '30',
        JOB_TTL_DAYS: '30',
        FILE_URL_EXPIRY_SECONDS: '900',
        MAX_FILE_SIZE_BYTES: String(5 * 1024 ** 4),
        MULTIPART_THRESHOLD_BYTES: String(8 * 1024 ** 2),
      },
    });
    props.connectorsTable.grantReadData(this.controller);
    props.jobsTable.grantReadWriteData(this.controller);
    props.queue.grantSendMessages(this.controller);
    props.filesTable.grantReadWriteData(this.controller);
    // Only what presigning, completing and deleting uploads need: object actions, no listing, no bucket-level actions.
    this.controller.addToRolePolicy(
      new PolicyStatement({
        sid: 'FileObjects',
        actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: [props.filesBucket.arnForObjects('*')],
      }),
    );

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy });
    this.restApi = new RestApi(this, 'RestApi', {
      restApiName: `crm-bridge-${props.stage}`,
      description: 'crm-bridge v1 API',
      apiKeySourceType: auth === 'apiKey' ? ApiKeySourceType.HEADER : undefined,
      deployOptions: {
        stageName: props.stage,
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        throttlingRateLimit: rate,
        throttlingBurstLimit: burst,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
      cloudWatchRole: false,
    });
    for (const [type, code, status] of GATEWAY_ERRORS) {
      this.restApi.addGatewayResponse(`Gw${code}${status ?? ''}${type.responseType}`, {
        type,
        statusCode: status,
        responseHeaders: { 'Content-Type': "'application/json'" },
        templates: { 'application/json': `{"error":{"code":"${code}","message":$context.error.messageString}}` },
      });
    }

    const integration = new LambdaIntegration(this.controller);
    const secured =
      auth === 'iam' ? { authorizationType: AuthorizationType.IAM } : { authorizationType: AuthorizationType.NONE, apiKeyRequired: true };
    const add = (resource: IResource, method: string) => resource.addMethod(method, integration, secured);

    const v1 = this.restApi.root.addResource('v1');
    v1.addResource('health').addMethod('GET', integration, { authorizationType: AuthorizationType.NONE });
    add(v1.addResource('callouts').addResource('{connectorId}').addResource('{operation}'), 'POST');
    add(v1.addResource('jobs').addResource('{jobId}'), 'GET');
    const files = v1.addResource('files');
    add(files, 'POST');
    add(files, 'GET');
    const file = files.addResource('{fileId}');
    add(file, 'GET');
    add(file, 'DELETE');
    add(file.addResource('complete'), 'POST');
    add(file.addResource('parts'), 'POST');

    if (auth === 'apiKey') {
      const plan = this.restApi.addUsagePlan('UsagePlan', {
        name: `crm-bridge-${props.stage}`,
        throttle: { rateLimit: rate, burstLimit: burst },
        quota: { limit: props.dailyQuota ?? 100_000, period: Period.DAY },
        apiStages: [{ api: this.restApi, stage: this.restApi.deploymentStage }],
      });
      const key = this.restApi.addApiKey('ApiKey', { description: 'Salesforce Named Credential (Custom header x-api-key)' });
      plan.addApiKey(key);
      this.apiKeyId = key.keyId;
    }
  }

  /** Set in apiKey mode; the key's value is read from API Gateway, never output. */
  apiKeyId?: string;
}
