import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface TablesProps {
  /**
   * What happens to the tables when the stack is deleted.
   * @default RemovalPolicy.RETAIN (connector rows and job history survive a mistaken delete)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Connector rows and jobs. On demand, point-in-time recovery, encrypted with an AWS managed key. */
export class Tables extends Construct {
  readonly connectors: TableV2;
  /** Jobs and idempotency keys (partition key `pk`), expiring through TTL attribute `expiresAt`. */
  readonly jobs: TableV2;

  constructor(scope: Construct, id: string, props: TablesProps = {}) {
    super(scope, id);
    const common = {
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryptionV2.awsManagedKey(),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    };
    this.connectors = new TableV2(this, 'Connectors', { ...common, partitionKey: { name: 'connectorId', type: AttributeType.STRING } });
    this.jobs = new TableV2(this, 'Jobs', { ...common, partitionKey: { name: 'pk', type: AttributeType.STRING }, timeToLiveAttribute: 'expiresAt' });
  }
}
