import { Match } from 'aws-cdk-lib/assertions';
import { readConfig } from '../../lib/config';
import { logicalId, synth } from './support';

/** The stack's alarms (each one's metric and threshold), its topic and its dashboard. */
const { stack, template } = synth({ alarmEmail: 'ops@example.com' });
const m = stack.monitoring;
const alarmProps = (alarm: Parameters<typeof logicalId>[0]) =>
  (template.toJSON().Resources as Record<string, any>)[logicalId(alarm)].Properties;
const topicRef = { Ref: logicalId(m.topic) };

describe('monitoring', () => {
  it('alarms when the dead-letter queue is not empty', () => {
    const p = alarmProps(m.deadLetterAlarm);
    expect(p).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [topicRef],
    });
    expect(p.Dimensions).toEqual([
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack.jobs.deadLetterQueue), 'QueueName'] } },
    ]);
  });

  it('alarms when the oldest job message is older than 15 minutes by default', () => {
    const p = alarmProps(m.queueAgeAlarm);
    expect(p).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 900,
      AlarmActions: [topicRef],
    });
    expect(p.Dimensions).toEqual([
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack.jobs.queue), 'QueueName'] } },
    ]);
  });

  it('alarms on worker errors and throttles and on API 5xx', () => {
    const worker = { Name: 'FunctionName', Value: { Ref: logicalId(stack.jobs.worker) } };
    expect(alarmProps(m.workerErrorsAlarm)).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Threshold: 0,
      Dimensions: [worker],
    });
    expect(alarmProps(m.workerThrottlesAlarm)).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Throttles',
      Statistic: 'Sum',
      Threshold: 0,
      Dimensions: [worker],
    });
    expect(alarmProps(m.api5xxAlarm)).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Statistic: 'Sum',
      Threshold: 0,
    });
  });

  it("alarms on any connector's failure rate through one Metrics Insights query", () => {
    const p = alarmProps(m.connectorFailureRateAlarm);
    expect(p.Threshold).toBe(20);
    expect(p.ComparisonOperator).toBe('GreaterThanThreshold');
    expect(p.Metrics).toHaveLength(1);
    expect(p.Metrics[0]).toMatchObject({ Period: 300, ReturnData: true });
    expect(p.Metrics[0].Expression).toBe(
      'SELECT AVG(FailureRate) FROM SCHEMA("CrmBridge", connectorId) GROUP BY connectorId ORDER BY AVG() DESC LIMIT 1',
    );
  });

  it('alarms on a QUARANTINED file when malware scanning is on (a metric filter on the worker log), not otherwise', () => {
    expect(m.filesQuarantinedAlarm).toBeUndefined();
    template.resourceCountIs('AWS::Logs::MetricFilter', 0);
    const scanned = synth({ malwareScan: 'guardduty' });
    const alarm = scanned.stack.monitoring.filesQuarantinedAlarm!;
    const p = (scanned.template.toJSON().Resources as Record<string, any>)[logicalId(alarm)].Properties;
    expect(p).toMatchObject({
      Namespace: 'CrmBridge',
      MetricName: 'FilesQuarantined',
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: logicalId(scanned.stack.monitoring.topic) }],
    });
    scanned.template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.metric = "FilesQuarantined" }',
      LogGroupName: { Ref: Match.stringLikeRegexp('Worker') },
      MetricTransformations: [{ MetricNamespace: 'CrmBridge', MetricName: 'FilesQuarantined', MetricValue: '1' }],
    });
  });

  it('sends alarms to an encrypted topic with the configured e-mail subscription', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: topicRef,
    });
    for (const alarm of [
      m.deadLetterAlarm,
      m.queueAgeAlarm,
      m.workerErrorsAlarm,
      m.workerThrottlesAlarm,
      m.api5xxAlarm,
      m.connectorFailureRateAlarm,
    ]) {
      expect(alarmProps(alarm).AlarmActions).toEqual([topicRef]);
    }
  });

  it('has no subscription without alarmEmail, and rejects a malformed one at synth time', () => {
    synth().template.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(() => readConfig((k) => (k === 'alarmEmail' ? 'ops@example' : undefined))).toThrow(/alarmEmail/);
  });

  it('has one dashboard with queue, DLQ, per-connector jobs, failure rate and latency widgets', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const text of [
      'ApproximateAgeOfOldestMessage',
      'ApproximateNumberOfMessagesVisible',
      'SUM(JobsSucceeded)',
      'SUM(JobsFailed)',
      'AVG(FailureRate)',
      'UpstreamLatency',
      'p99',
      'p50',
    ]) {
      expect(body).toContain(text);
    }
  });
});
