import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { readLocalState } from '../local/state';
import { DEFAULT_STAGE, STACK_OUTPUTS, stackName as stackOf } from '../lambdas/contract/stack';

/**
 * The SDK clients are imported when a command needs them (~0.6 s of module
 * loading): `connectors validate` and the file commands never do.
 */
async function sdk() {
  const [cfn, ddb, s3, sqs, ssm, doc] = await Promise.all([
    import('@aws-sdk/client-cloudformation'),
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/client-s3'),
    import('@aws-sdk/client-sqs'),
    import('@aws-sdk/client-ssm'),
    import('@aws-sdk/lib-dynamodb'),
  ]);
  return { ...cfn, ...ddb, ...s3, ...sqs, ...ssm, ...doc };
}

/** The running local hub's API address and key. */
export function localApi(): { baseUrl: string; apiKey: string } {
  try {
    const state = readLocalState();
    return { baseUrl: state.baseUrl, apiKey: state.apiKey };
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** Where a CLI command acts: the running local hub, or a deployed stack (found by its outputs). */
export interface Target {
  stage: string;
  /** The local hub (which calls loopback services) rather than a deployed stack. */
  local?: boolean;
  description: string;
  baseUrl?: string;
  apiKey?: string;
  tables: { connectors: string; jobs: string; files?: string };
  queues: { jobs: string; deadLetter: string };
  bucket?: string;
  /** How long the target's workers reuse a secret value, when known (the local hub records it). */
  secretsCacheTtlSeconds?: number;
  db: DynamoDBDocumentClient;
  ssm: SSMClient;
  sqs: SQSClient;
  s3: S3Client;
}

export interface TargetOptions {
  local?: boolean;
  stage?: string;
  stack?: string;
  region?: string;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

const docOptions = { marshallOptions: { removeUndefinedValues: true } };

export async function resolveTarget(opts: TargetOptions): Promise<Target> {
  const {
    CloudFormationClient,
    DescribeStacksCommand,
    DynamoDBClient,
    DynamoDBDocumentClient,
    S3Client,
    SQSClient,
    SSMClient,
  } = await sdk();
  if (opts.local) {
    let state;
    try {
      state = readLocalState();
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    const common = { region: state.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    return {
      stage: state.stage,
      local: true,
      description: `local hub at ${state.baseUrl}`,
      baseUrl: state.baseUrl,
      apiKey: state.apiKey,
      tables: state.tables,
      queues: state.queues,
      bucket: state.bucket,
      secretsCacheTtlSeconds: state.secretsCacheTtlSeconds,
      db: DynamoDBDocumentClient.from(
        new DynamoDBClient({ ...common, endpoint: state.endpoints.dynamodb }),
        docOptions,
      ),
      ssm: new SSMClient({ ...common, endpoint: state.endpoints.ssm }),
      sqs: new SQSClient({ ...common, endpoint: state.endpoints.sqs }),
      s3: new S3Client({
        ...common,
        endpoint: state.endpoints.s3,
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
      }),
    };
  }
  const stage = opts.stage ?? DEFAULT_STAGE;
  const stackName = opts.stack ?? stackOf(stage);
  const config = opts.region ? { region: opts.region } : {};
  const cfn = new CloudFormationClient(config);
  let outputs: Record<string, string>;
  try {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));
  } catch (err) {
    throw new CliError(
      `Could not read stack ${stackName}: ${(err as Error).message}. Deploy it with "npx cdk deploy", pass --stack/--stage/--region, or use --local for the local hub.`,
    );
  } finally {
    cfn.destroy();
  }
  const need = (key: (typeof STACK_OUTPUTS)[keyof typeof STACK_OUTPUTS]) => {
    const v = outputs[key];
    if (!v) throw new CliError(`Stack ${stackName} has no output ${key}; redeploy it with this version of crm-bridge`);
    return v;
  };
  return {
    stage,
    description: `stack ${stackName}`,
    baseUrl: outputs[STACK_OUTPUTS.apiUrl],
    tables: {
      connectors: need(STACK_OUTPUTS.connectorsTableName),
      jobs: need(STACK_OUTPUTS.jobsTableName),
      files: outputs[STACK_OUTPUTS.filesTableName],
    },
    queues: { jobs: need(STACK_OUTPUTS.jobsQueueUrl), deadLetter: need(STACK_OUTPUTS.deadLetterQueueUrl) },
    bucket: outputs[STACK_OUTPUTS.filesBucketName],
    db: DynamoDBDocumentClient.from(new DynamoDBClient(config), docOptions),
    ssm: new SSMClient(config),
    sqs: new SQSClient(config),
    s3: new S3Client(config),
  };
}

export function destroyTarget(t: Target): void {
  t.db.destroy();
  t.ssm.destroy();
  t.sqs.destroy();
  t.s3.destroy();
}
