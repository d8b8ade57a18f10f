import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import {
  AttributeType,
  Billing,
  ProjectionType,
  TableEncryptionV2,
  TableV2,
  type TablePropsV2,
} from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { JOB_INDEXES, JOB_LIST_SORT_KEY, projectedFields, type JobIndexName } from '../../lambdas/contract/job-indexes';
import { CONNECTORS_TABLE_KEY, JOBS_TABLE, MIGRATIONS_TABLE } from '../../lambdas/contract/storage';

export interface TablesProps {
  /**
   * What happens to the tables when the stack is deleted.
   * @default RemovalPolicy.RETAIN (connector rows and job history survive a mistaken delete)
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Customer-managed KMS key for both tables (for audits that require one; the
   * grants on the tables then include the key). Needs a stack with an explicit region.
   * @default - AWS managed key (aws/dynamodb)
   */
  readonly encryptionKey?: IKey;
}

/** Settings every hub table shares: on demand, point-in-time recovery, encrypted, retained by default. */
export function tableDefaults(
  removalPolicy: RemovalPolicy | undefined,
  key: IKey | undefined,
): Pick<TablePropsV2, 'billing' | 'pointInTimeRecoverySpecification' | 'encryption' | 'removalPolicy'> {
  return {
    // Traffic follows CRM activity: bursty and mostly idle.
    billing: Billing.onDemand(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: key ? TableEncryptionV2.customerManagedKey(key) : TableEncryptionV2.awsManagedKey(),
    removalPolicy: removalPolicy ?? RemovalPolicy.RETAIN,
  };
}

/** Connector rows, jobs, and Files migrations. */
export class Tables extends Construct {
  /** Connector configuration rows, partition key `connectorId`. */
  readonly connectors: TableV2;
  /**
   * Jobs and idempotency keys (partition key `pk`), expiring through the TTL attribute `expiresAt`.
   * GSIs `byConnector` and `byStatus` (lambdas/contract/job-indexes.ts) list jobs newest first.
   */
  readonly jobs: TableV2;
  /**
   * Files migrations from Salesforce (lambdas/adapters/dynamo-migration-store.ts): partition key `pk`,
   * sort key `sk`; a migration's state and audit rows, and per ContentVersion its copy marker. No TTL: the audit is kept.
   */
  readonly migrations: TableV2;

  constructor(scope: Construct, id: string, props: TablesProps = {}) {
    super(scope, id);
    if (props.encryptionKey && Token.isUnresolved(Stack.of(this).region)) {
      // Global tables name the key per replica region, which an environment-agnostic stack does not know.
      throw new Error(
        'Tables: encryptionKey needs a stack with an explicit region (set env, e.g. from CDK_DEFAULT_REGION)',
      );
    }
    const common = tableDefaults(props.removalPolicy, props.encryptionKey);
    this.connectors = new TableV2(this, 'Connectors', {
      ...common,
      partitionKey: { name: CONNECTORS_TABLE_KEY, type: AttributeType.STRING },
    });
    this.jobs = new TableV2(this, 'Jobs', {
      ...common,
      partitionKey: { name: JOBS_TABLE.partitionKey, type: AttributeType.STRING },
      timeToLiveAttribute: JOBS_TABLE.timeToLive,
      globalSecondaryIndexes: (Object.keys(JOB_INDEXES) as JobIndexName[]).map((indexName) => ({
        indexName,
        partitionKey: { name: JOB_INDEXES[indexName].partitionKey, type: AttributeType.STRING },
        sortKey: { name: JOB_LIST_SORT_KEY, type: AttributeType.STRING },
        projectionType: ProjectionType.INCLUDE,
        nonKeyAttributes: projectedFields(indexName),
      })),
    });
    this.migrations = new TableV2(this, 'Migrations', {
      ...common,
      partitionKey: { name: MIGRATIONS_TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: MIGRATIONS_TABLE.sortKey, type: AttributeType.STRING },
    });
  }
}
