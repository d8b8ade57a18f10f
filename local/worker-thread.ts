import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsPoller } from './poller';
import { serveThread } from './thread';

/**
 * Thread entry: the worker Lambda behind its SQS event source, apart from the
 * API's thread as the two Lambdas are on AWS. The handler reads its
 * configuration from env, which the thread inherits from the hub.
 */
export interface WorkerThreadData {
  region: string;
  sqsEndpoint: string;
  queueUrl: string;
  queueArn: string;
  maxConcurrency: number;
  batchSize: number;
  functionTimeoutMs: number;
  /** A bundled handler (absolute path) to load instead of lambdas/worker.ts. */
  handlerFile?: string;
}

serveThread<WorkerThreadData, null>(async (data, emit) => {
  // Loaded only now (after env is in place), as Lambda loads the handler at cold start.
  const worker = require(data.handlerFile ?? '../lambdas/worker') as typeof import('../lambdas/worker');
  const poller = new SqsPoller({
    sqs: new SQSClient({ region: data.region, endpoint: data.sqsEndpoint, cacheMiddleware: true }),
    queueUrl: data.queueUrl,
    queueArn: data.queueArn,
    region: data.region,
    handler: worker.handler,
    maxConcurrency: data.maxConcurrency,
    batchSize: data.batchSize,
    functionTimeoutMs: data.functionTimeoutMs,
    onError: (err) => emit({ workerError: err instanceof Error ? err.message : String(err) }),
  });
  poller.start();
  return { ready: null, stop: () => poller.stop() };
});
