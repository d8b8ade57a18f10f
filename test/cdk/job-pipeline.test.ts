import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { JobPipeline, type JobPipelineProps } from '../../lib/constructs/job-pipeline';
import {
  CRASH_MARGIN_RECEIVES,
  DEFAULT_MAX_RECEIVE_COUNT,
  MAX_CONNECTOR_ATTEMPTS,
  VISIBILITY_TIMEOUT_FACTOR,
  WORST_CASE_RECEIVES,
} from '../../lambdas/contract/queue';
import { retrySchema } from '../../lambdas/connectors/common';
import { logicalId, propsOf, storageProps, synth, testApp } from './support';

const { stack, template } = synth();
const worker = () => propsOf(template, stack.jobs.worker);
const mapping = (t: Template) => Object.values(t.findResources('AWS::Lambda::EventSourceMapping'))[0]!.Properties;

/** A JobPipeline alone in a stack, for construct props the app does not expose as context. */
function jobPipeline(props: Partial<JobPipelineProps> = {}): { t: Template; q: JobPipeline } {
  const s = new Stack(testApp(), 'S');
  const q = new JobPipeline(s, 'Jobs', { ...storageProps(s), ...props });
  return { t: Template.fromStack(s), q };
}

describe('worker concurrency cap', () => {
  test('defaults: reserved concurrency 25 and event source maximum concurrency 25', () => {
    expect(worker().ReservedConcurrentExecutions).toBe(25);
    expect(mapping(template)).toMatchObject({
      ScalingConfig: { MaximumConcurrency: 25 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 1,
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.jobs.queue), 'Arn'] },
      FunctionName: { Ref: logicalId(stack.jobs.worker) },
    });
  });

  test('context workerConcurrency 5 with workerReservedConcurrency 0: capped at 5, nothing reserved', () => {
    const small = synth({ workerConcurrency: 5, workerReservedConcurrency: 0 });
    expect(mapping(small.template).ScalingConfig).toEqual({ MaximumConcurrency: 5 });
    expect(propsOf(small.template, small.stack.jobs.worker).ReservedConcurrentExecutions).toBeUndefined();
  });

  test('reserved concurrency follows workerConcurrency unless set', () => {
    const c = synth({ workerConcurrency: '40', workerReservedConcurrency: '60' });
    expect(mapping(c.template).ScalingConfig).toEqual({ MaximumConcurrency: 40 });
    expect(propsOf(c.template, c.stack.jobs.worker).ReservedConcurrentExecutions).toBe(60);
  });
});

describe('worker function', () => {
  test('Node 22 on arm64, 60 s, handler from the bundle, one-month logs', () => {
    expect(worker()).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 60,
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
    });
    expect(worker().LoggingConfig.LogGroup).toEqual({ Ref: expect.stringMatching(/^JobsWorkerLogs/) });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('environment: the worker contract', () => {
    const env = worker().Environment.Variables;
    expect(Object.keys(env).sort()).toEqual(
      [
        'CONNECTORS_TABLE',
        'CONNECTOR_CACHE_TTL_SECONDS',
        'FILES_TABLE',
        'JOBS_QUEUE_URL',
        'JOBS_TABLE',
        'JOB_DATA_BUCKET',
        'JOB_TTL_DAYS',
        'MAX_RECEIVE_COUNT',
        'NODE_OPTIONS',
        'POWERTOOLS_SERVICE_NAME',
        'INTERNAL_TARGETS',
        'SECRETS_CACHE_TTL_SECONDS',
        'STAGE',
        // Files migrations
        'MIGRATIONS_TABLE',
        'FILES_BUCKET',
        'MIGRATION_BATCH_SIZE',
        'MIGRATION_MIN_REMAINING_MS',
        'MIGRATION_MULTIPART_THRESHOLD_BYTES',
        'MIGRATION_PART_SIZE_BYTES',
      ].sort(),
    );
    expect(env).toMatchObject({
      STAGE: 'dev',
      CONNECTOR_CACHE_TTL_SECONDS: '30',
      SECRETS_CACHE_TTL_SECONDS: '300',
      JOB_TTL_DAYS: '30',
      INTERNAL_TARGETS: 'refuse',
      // The worker logs a message failed on this receive as dead-lettered.
      MAX_RECEIVE_COUNT: '25',
      POWERTOOLS_SERVICE_NAME: 'crm-bridge',
      NODE_OPTIONS: '--enable-source-maps',
      CONNECTORS_TABLE: { Ref: logicalId(stack.tables.connectors) },
      JOBS_TABLE: { Ref: logicalId(stack.tables.jobs) },
      FILES_TABLE: { Ref: logicalId(stack.files.table) },
      JOBS_QUEUE_URL: { Ref: logicalId(stack.jobs.queue) },
      JOB_DATA_BUCKET: { Ref: logicalId(stack.jobData.bucket) },
    });
  });
});

describe('queues', () => {
  test('visibility timeout is 6x the worker timeout', () => {
    expect(propsOf(template, stack.jobs.queue).VisibilityTimeout).toBe(6 * worker().Timeout);
    const { t, q } = jobPipeline({ workerTimeout: Duration.minutes(2) });
    expect(propsOf(t, q.queue).VisibilityTimeout).toBe(720);
    expect(propsOf(t, q.worker).Timeout).toBe(120);
  });

  test('dead-letter queue after 25 receives, kept 14 days', () => {
    expect(propsOf(template, stack.jobs.queue).RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack.jobs.deadLetterQueue), 'Arn'] },
      maxReceiveCount: 25,
    });
    const alone = jobPipeline();
    expect(propsOf(alone.t, alone.q.queue).RedrivePolicy.maxReceiveCount).toBe(DEFAULT_MAX_RECEIVE_COUNT);
    expect(propsOf(template, stack.jobs.deadLetterQueue).MessageRetentionPeriod).toBe(14 * 86_400);
  });

  test('both queues are SSE-SQS encrypted and deny non-TLS access', () => {
    for (const q of [stack.jobs.queue, stack.jobs.deadLetterQueue]) {
      expect(propsOf(template, q).SqsManagedSseEnabled).toBe(true);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: logicalId(q) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  test('queues, tables and logs are retained by default; removalPolicy destroy for dev', () => {
    template.hasResource('AWS::SQS::Queue', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    const dev = synth({ removalPolicy: 'destroy' }).template;
    expect(Object.keys(dev.findResources('AWS::SQS::Queue', { DeletionPolicy: 'Retain' }))).toEqual([]);
    expect(Object.keys(dev.findResources('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain' }))).toEqual([]);
  });
});

describe('construct props are checked at synth time', () => {
  test.each<[Partial<JobPipelineProps>, RegExp]>([
    [
      { maxReceiveCount: 15 },
      /maxReceiveCount must be an integer from 19 to 1000: a job still retrying can need 19 receives .*; got 15$/,
    ],
    [{ maxReceiveCount: 18 }, /maxReceiveCount must be an integer from 19 to 1000/],
    [{ maxReceiveCount: 1001 }, /maxReceiveCount must be an integer from 19 to 1000/],
    [{ maxReceiveCount: 20.5 }, /maxReceiveCount must be an integer/],
    [{ maxConcurrency: 1 }, /maxConcurrency must be an integer from 2 to 1000/],
    [
      { maxConcurrency: 30, reservedConcurrency: 20 },
      /reservedConcurrency \(20\) must be an integer >= maxConcurrency \(30\)/,
    ],
    [{ batchSize: 11 }, /batchSize must be an integer from 1 to 10/],
    [{ workerTimeout: Duration.minutes(16) }, /workerTimeout must be 1-900 seconds/],
    [{ stage: 'Dev' }, /stage "Dev"/],
    [{ jobTtl: Duration.hours(12) }, /jobTtl must be a whole number of days/],
    [{ deadLetterRetention: Duration.days(15) }, /deadLetterRetention/],
  ])('%o is refused', (props, message) => {
    expect(() => jobPipeline(props)).toThrow(message);
  });

  test('reservedConcurrency false reserves nothing; batch size and receive count are props', () => {
    const { t, q } = jobPipeline({ maxConcurrency: 10, reservedConcurrency: false, batchSize: 5, maxReceiveCount: 20 });
    expect(propsOf(t, q.worker).ReservedConcurrentExecutions).toBeUndefined();
    expect(mapping(t)).toMatchObject({ BatchSize: 5, ScalingConfig: { MaximumConcurrency: 10 } });
    expect(propsOf(t, q.queue).RedrivePolicy.maxReceiveCount).toBe(20);
  });

  test('the worst case of a healthy job (19 receives) is the lowest maxReceiveCount accepted', () => {
    const lowest = jobPipeline({ maxReceiveCount: 19 });
    expect(propsOf(lowest.t, lowest.q.queue).RedrivePolicy.maxReceiveCount).toBe(19);
    expect(() => jobPipeline({ maxReceiveCount: 19 - 1 })).toThrow(/healthy jobs to the dead-letter queue/);
  });
});

describe('receive budget of a job (lambdas/contract/queue.ts)', () => {
  test('MAX_CONNECTOR_ATTEMPTS is the largest retry.maxAttempts a connector row accepts', () => {
    expect(retrySchema.safeParse({ maxAttempts: MAX_CONNECTOR_ATTEMPTS }).success).toBe(true);
    expect(retrySchema.safeParse({ maxAttempts: MAX_CONNECTOR_ATTEMPTS + 1 }).success).toBe(false);
  });

  test('worst case 19 = first receive + 9 deferred call retries + 9 deferred delivery retries; default 25 adds 6 for crashes', () => {
    // Measured against the real job runner in test/integration/salesforce-delivery.test.ts ("worst case: ...").
    expect(WORST_CASE_RECEIVES).toBe(19);
    expect(CRASH_MARGIN_RECEIVES).toBeGreaterThanOrEqual(5);
    expect(DEFAULT_MAX_RECEIVE_COUNT).toBe(25);
  });
});

describe('relations the contract requires of the synthesized queue and worker', () => {
  const cases = [
    ['defaults', synth()],
    ['workerConcurrency 40, reserved 60', synth({ workerConcurrency: 40, workerReservedConcurrency: 60 })],
    ['nothing reserved', synth({ workerConcurrency: 5, workerReservedConcurrency: 0 })],
  ] as const;

  test.each(cases)(
    '%s: the event source never polls for more than the reserved executions (throttled receives count toward the DLQ)',
    (_, { stack: s, template: t }) => {
      const max = mapping(t).ScalingConfig.MaximumConcurrency;
      const reserved = propsOf(t, s.jobs.worker).ReservedConcurrentExecutions;
      expect(max).toBeGreaterThanOrEqual(2);
      if (reserved !== undefined) expect(max).toBeLessThanOrEqual(reserved);
    },
  );

  test.each([10, 60, 900])(
    'worker timeout %i s: the visibility timeout is at least 6 x the function timeout',
    (seconds) => {
      const { t, q } = jobPipeline({ workerTimeout: Duration.seconds(seconds) });
      const timeout = propsOf(t, q.worker).Timeout;
      expect(timeout).toBe(seconds);
      expect(propsOf(t, q.queue).VisibilityTimeout).toBeGreaterThanOrEqual(VISIBILITY_TIMEOUT_FACTOR * timeout);
      expect(VISIBILITY_TIMEOUT_FACTOR).toBeGreaterThanOrEqual(6);
    },
  );

  test('the worker is told the redrive maxReceiveCount the queue has', () => {
    const c = synth({ maxReceiveCount: 30 });
    expect(propsOf(c.template, c.stack.jobs.worker).Environment.Variables.MAX_RECEIVE_COUNT).toBe(
      String(propsOf(c.template, c.stack.jobs.queue).RedrivePolicy.maxReceiveCount),
    );
  });
});
