import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  type IMetric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, MetricFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambdas/contract/stack';

/** lambdas/adapters/job-events.ts writes these (EMF). */
export { METRICS_NAMESPACE };
const SCHEMA = `SCHEMA("${METRICS_NAMESPACE}", connectorId)`;

export interface MonitoringProps {
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  /** Its log group carries the lines metric filters count. */
  readonly worker: IFunction & { readonly logGroup: ILogGroup };
  readonly api: RestApi;
  /** Alarm when the oldest job message has waited longer than this. @default Duration.minutes(15) */
  readonly maxQueueAge?: Duration;
  /** Alarm when any connector's share of failed jobs (percent, over `period`) is above this. @default 20 */
  readonly failureRatePercent?: number;
  /** @default Duration.minutes(5) */
  readonly period?: Duration;
  /** Subscribed to the alarm topic (a confirmation mail is sent). @default - no subscription */
  readonly alarmEmail?: string;
  /** Files are scanned for malware: alarm when one is QUARANTINED. @default false */
  readonly malwareScan?: boolean;
}

/** Alarms (to one SNS topic) and one dashboard for the hub. */
export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly deadLetterAlarm: Alarm;
  readonly queueAgeAlarm: Alarm;
  readonly workerErrorsAlarm: Alarm;
  readonly workerThrottlesAlarm: Alarm;
  readonly api5xxAlarm: Alarm;
  readonly connectorFailureRateAlarm: Alarm;
  /** With malwareScan only. */
  readonly filesQuarantinedAlarm?: Alarm;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(5);
    const maxQueueAge = props.maxQueueAge ?? Duration.minutes(15);
    const failureRate = props.failureRatePercent ?? 20;
    if (!(failureRate > 0 && failureRate < 100))
      throw new Error(`Monitoring: failureRatePercent must be between 0 and 100; got ${failureRate}`);

    // CloudWatch alarms may publish to an encrypted topic only with a customer managed key they can use.
    const key = new Key(this, 'TopicKey', { enableKeyRotation: true, description: 'crm-bridge alarm topic' });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'Alarms', { masterKey: key, enforceSSL: true, displayName: 'crm-bridge alarms' });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.topic);

    const alarm = (id: string, metric: IMetric, threshold: number, description: string) => {
      const a = new Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        // No data (an idle hub, a new connector) is not a failure.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(action);
      a.addOkAction(action);
      return a;
    };

    this.deadLetterAlarm = alarm(
      'DeadLetterQueueNotEmpty',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      0,
      'Messages reached the dead-letter queue: inspect with "npx crm-bridge dlq list", replay with "dlq replay"',
    );
    this.queueAgeAlarm = alarm(
      'JobQueueOldestMessage',
      props.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
      maxQueueAge.toSeconds(),
      `A job has waited in the queue longer than ${maxQueueAge.toHumanString()}: the worker is capped, throttled or failing`,
    );
    this.workerErrorsAlarm = alarm(
      'WorkerErrors',
      props.worker.metricErrors({ period, statistic: 'Sum' }),
      0,
      'The worker Lambda failed (not a job failure: a crash or timeout)',
    );
    this.workerThrottlesAlarm = alarm(
      'WorkerThrottles',
      props.worker.metricThrottles({ period, statistic: 'Sum' }),
      0,
      'The worker Lambda was throttled: check reserved concurrency and the account quota',
    );
    this.api5xxAlarm = alarm(
      'Api5xx',
      props.api.metricServerError({ period, statistic: 'Sum' }),
      0,
      'The API answered 5xx',
    );
    // One Metrics Insights query covers every connector, including ones added after deploy.
    // FailureRate is 100 per failed job and 0 per succeeded one, so its average is the rate;
    // the worst connector is the alarm's one time series.
    // Checked against the CloudWatch docs ("Query components and syntax in CloudWatch Metrics
    // Insights", "Create a CloudWatch alarm based on a Metrics Insights query", "Metrics Insights quotas"):
    // the grammar is SELECT FUNCTION(metric) FROM namespace | SCHEMA(...) [WHERE] [GROUP BY label]
    // [ORDER BY FUNCTION() DESC|ASC] [LIMIT n], identifiers case sensitive; SCHEMA("CrmBridge", connectorId)
    // matches only metrics whose dimensions are exactly {connectorId} (adapters/job-events.ts emits
    // them so, without Powertools' `service` dimension); an alarm evaluates the last 3 hours of data at
    // one-minute granularity or coarser, so the period is 1 minute or more (5 by default). LIMIT 1 keeps it
    // one series (the docs' outlier pattern), which alarms the same whether or not the account has
    // multi-time-series alarms.
    this.connectorFailureRateAlarm = alarm(
      'ConnectorFailureRate',
      new MathExpression({
        expression: `SELECT AVG(FailureRate) FROM ${SCHEMA} GROUP BY connectorId ORDER BY AVG() DESC LIMIT 1`,
        usingMetrics: {},
        period,
        label: 'Worst connector failure rate (%)',
      }),
      failureRate,
      `A connector's failed jobs exceed ${failureRate}% over ${period.toHumanString()}: see the dashboard's failure rate per connector`,
    );

    if (props.malwareScan) {
      // The worker logs each quarantined file as one JSON line with "metric": "FilesQuarantined" (lambdas/files/scan-result.ts).
      const quarantined = new MetricFilter(this, 'FilesQuarantinedFilter', {
        logGroup: props.worker.logGroup,
        filterPattern: FilterPattern.stringValue('$.metric', '=', 'FilesQuarantined'),
        metricNamespace: METRICS_NAMESPACE,
        metricName: 'FilesQuarantined',
        metricValue: '1',
      });
      this.filesQuarantinedAlarm = alarm(
        'FilesQuarantined',
        quarantined.metric({ period, statistic: 'Sum' }),
        0,
        'The malware scan found a threat in an uploaded file (QUARANTINED): its fileId is in the worker log ("file quarantined")',
      );
    }
    const insights = (label: string, query: string) =>
      new MathExpression({ expression: query, usingMetrics: {}, period, label });
    const search = (metric: string, stat: string) =>
      new MathExpression({
        expression: `SEARCH('{${METRICS_NAMESPACE},connectorId} MetricName="${metric}"', '${stat}', ${period.toSeconds()})`,
        usingMetrics: {},
        period,
        label: stat,
      });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new GraphWidget({
            title: 'Job queue depth',
            left: [
              props.queue.metricApproximateNumberOfMessagesVisible(),
              props.queue.metricApproximateNumberOfMessagesNotVisible(),
            ],
            width: 8,
          }),
          new GraphWidget({
            title: 'Oldest job message (s)',
            left: [props.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum' })],
            width: 8,
          }),
          new GraphWidget({
            title: 'Dead-letter queue depth',
            left: [props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' })],
            width: 8,
          }),
        ],
        [
          new GraphWidget({
            title: 'Jobs succeeded per connector',
            left: [insights('succeeded', `SELECT SUM(JobsSucceeded) FROM ${SCHEMA} GROUP BY connectorId`)],
            width: 8,
          }),
          new GraphWidget({
            title: 'Jobs failed per connector',
            left: [insights('failed', `SELECT SUM(JobsFailed) FROM ${SCHEMA} GROUP BY connectorId`)],
            width: 8,
          }),
          new GraphWidget({
            title: 'Failure rate per connector (%)',
            left: [insights('failure rate', `SELECT AVG(FailureRate) FROM ${SCHEMA} GROUP BY connectorId`)],
            width: 8,
          }),
        ],
        [
          new GraphWidget({
            title: 'Upstream latency p50 / p99 (ms)',
            left: [search('UpstreamLatency', 'p50'), search('UpstreamLatency', 'p99')],
            width: 12,
          }),
          new GraphWidget({
            title: 'Queue wait, accepted to started (ms)',
            left: [search('QueueWait', 'p50'), search('QueueWait', 'p99')],
            width: 12,
          }),
        ],
      ],
    });
  }
}
