import { App, Tags } from 'aws-cdk-lib';
import { readConfig } from '../lib/config';
import { CrmBridgeStack } from '../lib/crm-bridge-stack';
import { addNagChecks } from '../lib/nag';
import { stackName } from '../lambdas/contract/stack';

const app = new App();
const config = readConfig((key) => app.node.tryGetContext(key));

// Environment-agnostic unless the CLI resolved both account and region from credentials, so synth works
// offline. Region alone is not enough: without any AWS config the CLI still sets it to us-east-1.
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;

new CrmBridgeStack(app, stackName(config.stage), {
  config,
  description: `crm-bridge integration hub (${config.stage})`,
  env: account && region ? { account, region } : undefined,
});
Tags.of(app).add('project', 'crm-bridge');
Tags.of(app).add('stage', config.stage);
// cdk-nag's AwsSolutions rules: `cdk synth` and `cdk deploy` stop on an unacknowledged finding.
addNagChecks(app);
