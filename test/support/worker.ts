import { SQSClient } from '@aws-sdk/client-sqs';
import type { ResultEnvelope, Wrapper, WrapperDeps, WrapperMap } from '../../lambdas/connectors/types';
import { JobQueue } from '../../lambdas/adapters/job-queue';
import { JobRunner, type JobRunnerOptions } from '../../lambdas/domain/job-runner';
import { MessageDispatcher } from '../../lambdas/domain/message-dispatcher';

/** Fixtures for tests of the worker's side: the job path as the worker wires it, a scripted upstream, a logger to inspect. */

/** A logger whose calls a test can read (and must not print). */
export function mockLogger() {
  return { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
}

/** A wrapper that plays a script: each call takes the next step (the last one repeats), which throws or returns; `calls` holds the payloads. */
export function scripted(steps: Array<Error | ResultEnvelope>) {
  const calls: unknown[] = [];
  const wrapper: Wrapper = {
    async call(request) {
      calls.push(request.payload);
      const step = steps[Math.min(calls.length - 1, steps.length - 1)]!;
      if (step instanceof Error) throw step;
      return step;
    },
  };
  return { wrapper, calls };
}

/** A rest connector row with one operation, "op", for a scripted wrapper: its baseUrl is never called. */
export const scriptedRestRow = (connectorId: string, extra: Record<string, unknown> = {}) => ({
  connectorId,
  type: 'rest',
  baseUrl: 'http://127.0.0.1:1',
  retry: { maxAttempts: 3, baseDelayMs: 100 },
  operations: { op: { method: 'POST', path: '/x' } },
  ...extra,
});

/** Wrapper deps for a scripted wrapper: any secret resolves, nothing is fetched. */
export const scriptedDeps: WrapperDeps = { secrets: { get: async () => 'x' }, fetch: globalThis.fetch };

/** A real JobQueue on a client of its own: tests mock SQSClient (aws-sdk-client-mock) or point it at fauxqs. */
export function testQueue(
  sqs: SQSClient = new SQSClient({ region: 'us-east-1' }),
  url = 'https://sqs.local/q',
): JobQueue {
  return new JobQueue(sqs, url);
}

/**
 * The worker's entry for one SQS record, as lambdas/worker.ts wires it: the
 * MessageDispatcher parses the record and hands job messages to the JobRunner
 * (file link, scan result and migration messages are not wired here and fail).
 */
export function jobWorker(opts: JobRunnerOptions): MessageDispatcher {
  const runner = new JobRunner(opts);
  const notWired = async () => {
    throw new Error('only job messages are wired in this test worker');
  };
  return new MessageDispatcher({
    job: (message, record, remaining) => runner.run(message, record, remaining),
    fileLink: notWired,
    scanResult: notWired,
    fileMigration: notWired,
  });
}

/**
 * jobWorker with a scripted wrapper for `rest` connectors: a test queue, scriptedDeps,
 * sleeps that return at once and no jitter (random 0.5); `opts` add to or override these.
 */
export function scriptedWorker(
  wrapper: Wrapper,
  opts: Pick<JobRunnerOptions, 'connectors' | 'jobs' | 'logger'> & Partial<JobRunnerOptions>,
): MessageDispatcher {
  return jobWorker({
    queue: testQueue(),
    wrappers: { rest: wrapper } as WrapperMap,
    wrapperDeps: scriptedDeps,
    sleep: async () => undefined,
    random: () => 0.5,
    ...opts,
  });
}
