import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { PolicyStatement, Role, type IPrincipal } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge, wildcardResource } from '../nag';

export interface SalesforceAccessProps {
  /** The API the role may invoke (its deployed stage only). */
  readonly api: RestApi;
  /**
   * Who may assume the role: the IAM user (or role) whose access keys Salesforce's
   * AWS Signature V4 External Credential uses in "STS role" mode.
   */
  readonly principal: IPrincipal;
  /**
   * Required as sts:ExternalId in the trust policy; enter the same value in the
   * External Credential. It stops another Salesforce org that knows the role ARN
   * from assuming it through a shared principal (confused deputy).
   */
  readonly externalId: string;
  /** Session length Salesforce may request. @default Duration.hours(1) */
  readonly maxSessionDuration?: Duration;
}

/** The role Salesforce assumes to sign calls to the API: it may invoke this API's stage and nothing else. */
export class SalesforceAccess extends Construct {
  readonly role: Role;

  constructor(scope: Construct, id: string, props: SalesforceAccessProps) {
    super(scope, id);
    if (!/^[\w+=,.@:/-]{2,1224}$/.test(props.externalId)) {
      throw new Error(
        'SalesforceAccess: externalId must be 2-1224 characters of letters, digits and +=,.@:/-_ (the sts:ExternalId format)',
      );
    }
    this.role = new Role(this, 'Role', {
      description: 'Assumed by the Salesforce External Credential (AWS Signature V4, STS role) to call crm-bridge',
      assumedBy: props.principal,
      externalIds: [props.externalId],
      maxSessionDuration: props.maxSessionDuration ?? Duration.hours(1),
    });
    // arn:...:execute-api:<region>:<account>:<api-id>/<stage>/*/* : every method and path of this stage, nothing else.
    const invokeArn = props.api.arnForExecuteApi('*', '/*', props.api.deploymentStage.stageName);
    this.role.addToPolicy(
      new PolicyStatement({
        sid: 'InvokeHubApi',
        actions: ['execute-api:Invoke'],
        resources: [invokeArn],
      }),
    );
    acknowledge(this.role, {
      [wildcardResource(this, invokeArn)]:
        "Salesforce is the API's caller: it may invoke every route of this API's deployed stage, and no other API or stage",
    });
  }
}
