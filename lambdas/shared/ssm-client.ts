import { SSMClient } from '@aws-sdk/client-ssm';
import { requestHandler } from './clients';

/** The worker's SSM client (secrets); apart from clients.ts so that the controller never loads the SSM package. */
export const ssm = new SSMClient({ requestHandler });
