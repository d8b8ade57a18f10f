import { CONTROLLER_ENV, WORKER_ENV } from '../lambdas/contract/env';

/** Every resource variable either handler reads (from the contract), so a handler's bundle loads in a bare node (the bundle and observability benches). */
export const DUMMY_ENV = {
  ...Object.fromEntries(
    [...CONTROLLER_ENV.resources, ...WORKER_ENV.resources].map((name) => [
      name,
      name === 'JOBS_QUEUE_URL' ? 'https://sqs.us-east-1.amazonaws.com/000000000000/q' : 'bench',
    ]),
  ),
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  NODE_OPTIONS: '',
};
