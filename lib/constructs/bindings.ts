import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { ChoiceSetting, ChoiceValue, ResourceVariable } from '../../lambdas/contract/env';
import { grantJobData } from './job-data';

/**
 * A handler finds each resource through one environment variable (lambdas/contract/env.ts)
 * and may call exactly the actions its code needs on it. These helpers set the
 * variable and grant the actions in one call, so neither can be added or
 * removed without the other.
 */

/** Table variables of the contract. */
export type TableVariable = Extract<ResourceVariable, `${string}_TABLE`>;
type DynamoAction = `dynamodb:${'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query'}`;
const READ_ONLY: ReadonlySet<DynamoAction> = new Set(['dynamodb:GetItem', 'dynamodb:Query']);

export interface TableAccess {
  /** Statement id of the table statement. */
  readonly sid: string;
  /** The item actions the code calls on the table: least privilege, so listed, not 'read' or 'readWrite'. */
  readonly actions: readonly DynamoAction[];
  /** Query on these indexes only, as a statement of its own. */
  readonly query?: { readonly sid: string; readonly indexes: readonly string[] };
}

/** Sets `variable` to the table's name and grants `access` on it (and its customer-managed key, if any). */
export function bindTable(fn: NodejsFunction, variable: TableVariable, table: ITableV2, access: TableAccess): void {
  fn.addEnvironment(variable, table.tableName);
  fn.addToRolePolicy(
    new PolicyStatement({ sid: access.sid, actions: [...access.actions], resources: [table.tableArn] }),
  );
  if (access.query) {
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: access.query.sid,
        actions: ['dynamodb:Query'],
        resources: access.query.indexes.map((name) => `${table.tableArn}/index/${name}`),
      }),
    );
  }
  // A customer-managed table key must let the same calls through: decrypt to read, encrypt as well to write.
  if (access.actions.every((action) => READ_ONLY.has(action))) table.encryptionKey?.grantDecrypt(fn);
  else table.encryptionKey?.grantEncryptDecrypt(fn);
}

/** Sets JOBS_QUEUE_URL and grants sending to the queue (controller) or hiding a received message for a deferred retry (worker). */
export function bindJobQueue(fn: NodejsFunction, queue: IQueue, access: 'send' | 'changeVisibility'): void {
  fn.addEnvironment('JOBS_QUEUE_URL', queue.queueUrl);
  if (access === 'send') queue.grantSendMessages(fn);
  else queue.grant(fn, 'sqs:ChangeMessageVisibility');
}

/** Sets JOB_DATA_BUCKET and grants the role's object actions per prefix (grantJobData). */
export function bindJobData(fn: NodejsFunction, bucket: IBucket, role: 'controller' | 'worker'): void {
  fn.addEnvironment('JOB_DATA_BUCKET', bucket.bucketName);
  grantJobData(bucket, fn, role);
}

/** Sets `variable` to the bucket's name and grants `access.actions` on the objects matching `access.keys` (no bucket actions, no listing). */
export function bindBucketObjects(
  fn: NodejsFunction,
  variable: Extract<ResourceVariable, `${string}_BUCKET`>,
  bucket: IBucket,
  access: { sid: string; actions: readonly string[]; keys: string },
): void {
  fn.addEnvironment(variable, bucket.bucketName);
  fn.addToRolePolicy(
    new PolicyStatement({
      sid: access.sid,
      actions: [...access.actions],
      resources: [bucket.arnForObjects(access.keys)],
    }),
  );
}

/** Sets a variable the handler reads without a grant (a name it only compares, a stack option). */
export function setResourceEnv(fn: NodejsFunction, variable: ResourceVariable, value: string): void {
  fn.addEnvironment(variable, value);
}

/** Sets a choice setting to one of its contract values. */
export function setChoiceEnv<N extends ChoiceSetting>(fn: NodejsFunction, variable: N, value: ChoiceValue<N>): void {
  fn.addEnvironment(variable, value);
}
