import type { APIGatewayProxyEvent, SQSEvent, SQSRecord } from 'aws-lambda';

/** Factories for Lambda events, shaped like API Gateway (REST, v1 proxy) and SQS send them. */
export function apiEvent(opts: {
  method: string;
  path: string;
  body?: string | null;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  isBase64Encoded?: boolean;
}): APIGatewayProxyEvent {
  return {
    resource: '/{proxy+}',
    path: opts.path,
    httpMethod: opts.method,
    headers: opts.headers ?? {},
    multiValueHeaders: {},
    queryStringParameters: opts.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: opts.body ?? null,
    isBase64Encoded: opts.isBase64Encoded ?? false,
    requestContext: {
      requestId: 'test-request',
      path: opts.path,
      httpMethod: opts.method,
    } as APIGatewayProxyEvent['requestContext'],
  };
}

export function sqsRecord(body: string, overrides: Partial<SQSRecord> = {}): SQSRecord {
  const id = overrides.messageId ?? `msg-${Math.random().toString(36).slice(2)}`;
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:jobs',
    awsRegion: 'us-east-1',
    ...overrides,
  };
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}
