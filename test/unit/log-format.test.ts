import { formatLogLine } from '../../local/log-format';

describe('local log format', () => {
  it('prints a Powertools JSON record as one short line with its job fields', () => {
    const line = JSON.stringify({
      level: 'INFO',
      message: 'job succeeded',
      timestamp: '2026-12-02T23:50:01.234Z',
      service: 'crm-bridge',
      sampling_rate: 0,
      event: 'succeeded',
      jobId: 'j1',
      connectorId: 'echo',
      attempt: 2,
      statusCode: 200,
    });
    expect(formatLogLine(line)).toBe(
      '23:50:01.234 INFO  job succeeded event=succeeded jobId=j1 connectorId=echo attempt=2 statusCode=200',
    );
  });

  it('leaves other lines (banners, EMF without level) unchanged', () => {
    expect(formatLogLine('crm-bridge local hub ready')).toBe('crm-bridge local hub ready');
    const emf = JSON.stringify({ _aws: { CloudWatchMetrics: [] }, connectorId: 'x' });
    expect(formatLogLine(emf)).toBe(emf);
    expect(formatLogLine('{not json')).toBe('{not json');
  });
});
