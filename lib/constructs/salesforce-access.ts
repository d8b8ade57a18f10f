import { PolicyStatement, Role, type IPrincipal } from 'aws-cdk-lib/aws-iam';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';

export interface SalesforceAccessProps {
  readonly api: RestApi;
  /**
   * Who may assume the role: the IAM user (or role) whose access keys Salesforce's
   * AWS Signature V4 External Credential uses in "STS role" mode.
   */
  readonly principal: IPrincipal;
  /** Checked as sts:ExternalId in the trust policy; paste the same value into the External Credential. */
  readonly externalId: string;
}

/** The role Salesforce assumes to sign calls to the API: it may invoke this API and nothing else. */
export class SalesforceAccess extends Construct {
  readonly role: Role;

  constructor(scope: Construct, id: string, props: SalesforceAccessProps) {
    super(scope, id);
    if (props.externalId.length < 2 || props.externalId.length > 1224) throw new Error('SalesforceAccess: externalId must be 2-1224 characters');
    this.role = new Role(this, 'Role', {
      description: 'Assumed by the Salesforce External Credential (AWS Signature V4, STS role) to call crm-bridge',
      assumedBy: props.principal,
      externalIds: [props.externalId],
    });
    this.role.addToPolicy(new PolicyStatement({ actions: ['execute-api:Invoke'], resources: [props.api.arnForExecuteApi('*', '/*', props.api.deploymentStage.stageName)] }));
  }
}

