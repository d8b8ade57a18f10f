import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];
import type { WaitReason } from '../domain/connector-limits';
import type { JobEvents, JobRef } from '../domain/job-events';
import { logger as defaultLogger } from '../shared/logger';
import { METRIC, METRICS_NAMESPACE } from '../contract/stack';

// Metric names live in the contract: the stack's alarms and dashboard read them.
export { METRIC, METRICS_NAMESPACE };
/** A metric for every wait reason. */
const WAIT_METRICS: Record<WaitReason, string> = METRIC.waits;

interface Logger {
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
}

/**
 * EMF metrics with the one dimension `connectorId` (no `service` dimension, so
 * Metrics Insights' SCHEMA("CrmBridge", connectorId) finds every connector).
 * One buffer per connector, kept across invocations (a Metrics object is costly
 * to create: it reads its whole configuration from env); flush() writes the
 * buffers that got metrics in this invocation.
 */
export class ConnectorMetrics {
  private readonly byConnector = new Map<string, Metrics>();
  private readonly pending = new Set<Metrics>();

  add(connectorId: string | undefined, name: string, unit: Unit, value: number): void {
    const id = connectorId ?? 'unknown';
    let metrics = this.byConnector.get(id);
    if (!metrics) {
      metrics = new Metrics({ namespace: METRICS_NAMESPACE });
      metrics.clearDefaultDimensions();
      metrics.setDefaultDimensions({ connectorId: id });
      this.byConnector.set(id, metrics);
    }
    metrics.addMetric(name, unit, value);
    this.pending.add(metrics);
  }

  /** Writes the buffered metrics to stdout (CloudWatch reads EMF from the function's log); call once per invocation. */
  flush(): void {
    for (const metrics of this.pending) metrics.publishStoredMetrics();
    this.pending.clear();
  }
}

/** A failed attempt (call or delivery) in a log line: its code and status, never its message. */
function failureFields(job: { attempt: number; durationMs: number; code: string; statusCode?: number }) {
  return {
    attempt: job.attempt,
    durationMs: job.durationMs,
    code: job.code,
    ...(job.statusCode !== undefined && { statusCode: job.statusCode }),
  };
}

/** Only what identifies the job: never the payload. */
function ids(job: Partial<JobRef>) {
  return {
    jobId: job.jobId,
    connectorId: job.connectorId,
    operation: job.operation,
    ...(job.correlationId !== undefined && { correlationId: job.correlationId }),
    ...(job.traceId !== undefined && { traceId: job.traceId }),
  };
}

/** Job transitions as one log line each (`event` names the transition) plus EMF metrics. */
export function createJobEvents(metrics: ConnectorMetrics, logger: Logger = defaultLogger): JobEvents {
  const count = (job: Partial<JobRef>, name: string) => metrics.add(job.connectorId, name, MetricUnit.Count, 1);
  /** The transition's line: its name and the job's ids, then its own fields. */
  const log = (
    level: keyof Logger,
    message: string,
    event: keyof JobEvents,
    job: Partial<JobRef>,
    fields: Record<string, unknown> = {},
  ) => logger[level](message, { event, ...ids(job), ...fields });
  return {
    accepted(job) {
      log('info', 'job accepted', 'accepted', job);
      count(job, METRIC.accepted);
    },
    started(job) {
      log('info', 'job started', 'started', job, {
        attempt: job.attempt,
        ...(job.queueWaitMs !== undefined && { queueWaitMs: job.queueWaitMs }),
      });
      if (job.queueWaitMs !== undefined)
        metrics.add(job.connectorId, METRIC.queueWait, MetricUnit.Milliseconds, job.queueWaitMs);
    },
    attemptFailed(job) {
      const plan =
        job.retryInMs === undefined ? 'no retry' : `retry in ${job.retryInMs} ms (${job.retryBy ?? 'queue'})`;
      log('warn', `job attempt failed; ${plan}`, 'attemptFailed', job, {
        ...failureFields(job),
        ...(job.retryInMs !== undefined && { retryInMs: job.retryInMs, retryBy: job.retryBy ?? 'queue' }),
      });
      count(job, METRIC.attempts);
      count(job, METRIC.attemptsFailed);
      metrics.add(job.connectorId, METRIC.upstreamLatency, MetricUnit.Milliseconds, job.durationMs);
    },
    waiting(job) {
      log('info', `job waiting (${job.reason})`, 'waiting', job, {
        attempt: job.attempt,
        reason: job.reason,
        ...(job.until !== undefined && { until: job.until }),
      });
      count(job, WAIT_METRICS[job.reason]);
    },
    succeeded(job) {
      log('info', 'job succeeded', 'succeeded', job, {
        attempt: job.attempt,
        durationMs: job.durationMs,
        ...(job.statusCode !== undefined && { statusCode: job.statusCode }),
      });
      count(job, METRIC.attempts);
      count(job, METRIC.succeeded);
      metrics.add(job.connectorId, METRIC.failureRate, MetricUnit.Percent, 0);
      metrics.add(job.connectorId, METRIC.upstreamLatency, MetricUnit.Milliseconds, job.durationMs);
    },
    failed(job) {
      log('warn', 'job failed', 'failed', job, {
        attempt: job.attempt,
        ...(job.durationMs !== undefined && { durationMs: job.durationMs }),
        code: job.code,
        ...(job.statusCode !== undefined && { statusCode: job.statusCode }),
      });
      count(job, METRIC.failed);
      metrics.add(job.connectorId, METRIC.failureRate, MetricUnit.Percent, 100);
    },
    deadLettered(job) {
      log('error', 'job message dead-lettered', 'deadLettered', job, { receiveCount: job.receiveCount });
      count(job, METRIC.deadLettered);
    },
    delivered(job) {
      log('info', 'job outcome delivered', 'delivered', job, { attempt: job.attempt, durationMs: job.durationMs });
      count(job, METRIC.delivered);
    },
    deliveryFailed(job) {
      const plan = job.retryInMs === undefined ? 'no retry' : `retry in ${job.retryInMs} ms`;
      log('warn', `job delivery failed; ${plan}`, 'deliveryFailed', job, {
        ...failureFields(job),
        ...(job.retryInMs !== undefined && { retryInMs: job.retryInMs }),
      });
      if (job.retryInMs === undefined) count(job, METRIC.deliveriesFailed);
    },
  };
}

/** The process's metrics buffer and job events (handlers flush per invocation). */
export const jobMetrics = new ConnectorMetrics();
export const jobEvents = createJobEvents(jobMetrics);
