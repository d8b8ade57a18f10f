import { App } from 'aws-cdk-lib';
import { readConfig } from '../lib/config';
import { CrmBridgeStack } from '../lib/crm-bridge-stack';

const app = new App();
const config = readConfig((key) => app.node.tryGetContext(key));
new CrmBridgeStack(app, `CrmBridge-${config.stage}`, {
  config,
  description: `crm-bridge integration hub (${config.stage})`,
  // Environment-agnostic unless the CLI knows the account and region (synth works offline).
  env: process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } : undefined,
});
