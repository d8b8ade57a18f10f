import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SCAN_RESULT_EVENT } from '../lambdas/contract/queue';
import { EMULATOR_CREDENTIALS } from './state';

/**
 * The local hub's stand-in for GuardDuty Malware Protection (MALWARE_SCAN=local):
 * it finds files waiting for a scan, reads each object from the emulator's S3,
 * and sends the job queue the same "Object Scan Result" event the stack's
 * EventBridge rule delivers, so SCANNING -> AVAILABLE / QUARANTINED runs
 * through the real worker. A file containing the EICAR test string is a threat.
 * GuardDuty also tags the object (GuardDutyMalwareScanStatus); fauxqs 1.9.2
 * has no object tagging, so the result travels in the event only.
 */
export interface ScannerOptions {
  region: string;
  endpoints: { dynamodb: string; sqs: string; s3: string };
  filesTable: string;
  bucket: string;
  queueUrl: string;
  /** @default 200 */
  intervalMs?: number;
  onError?: (err: unknown) => void;
}

// Built from parts: this file is not itself a test virus for scanners of the repository.
const EICAR = Buffer.from(['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS', '-TEST-FILE!$H+H*'].join(''));

/** Whether a stream holds the EICAR string, read chunk by chunk (files can be GBs). */
export async function containsEicar(body: AsyncIterable<Uint8Array>): Promise<boolean> {
  let tail = Buffer.alloc(0);
  for await (const chunk of body) {
    const window = Buffer.concat([tail, Buffer.from(chunk)]);
    if (window.includes(EICAR)) return true;
    tail = window.subarray(Math.max(0, window.length - EICAR.length + 1));
  }
  return false;
}

export function startScanner(options: ScannerOptions): { stop(): Promise<void> } {
  const credentials = EMULATOR_CREDENTIALS;
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: options.region, endpoint: options.endpoints.dynamodb, credentials }),
  );
  const s3 = new S3Client({
    region: options.region,
    endpoint: options.endpoints.s3,
    credentials,
    forcePathStyle: true,
  });
  const sqs = new SQSClient({ region: options.region, endpoint: options.endpoints.sqs, credentials });
  const sent = new Set<string>();
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  async function scanOne(key: string): Promise<void> {
    const object = await s3.send(new GetObjectCommand({ Bucket: options.bucket, Key: key }));
    const result = (await containsEicar(object.Body as AsyncIterable<Uint8Array>))
      ? 'THREATS_FOUND'
      : 'NO_THREATS_FOUND';
    const event = {
      version: '0',
      id: crypto.randomUUID(),
      'detail-type': SCAN_RESULT_EVENT.detailType,
      source: SCAN_RESULT_EVENT.source,
      time: new Date().toISOString(),
      region: options.region,
      resources: [],
      detail: {
        schemaVersion: '1.0',
        scanStatus: 'COMPLETED',
        resourceType: 'S3_OBJECT',
        s3ObjectDetails: { bucketName: options.bucket, objectKey: key, eTag: object.ETag, s3Throttled: false },
        scanResultDetails: {
          scanResultStatus: result,
          threats: result === 'THREATS_FOUND' ? [{ name: 'EICAR-Test-File (not a virus)' }] : null,
        },
      },
    };
    await sqs.send(new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: JSON.stringify(event) }));
  }

  async function tick(): Promise<void> {
    const waiting = new Set<string>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new ScanCommand({
          TableName: options.filesTable,
          FilterExpression: '#s = :scanning',
          ExpressionAttributeNames: { '#s': 'status', '#k': 'key' },
          ExpressionAttributeValues: { ':scanning': 'SCANNING' },
          ProjectionExpression: '#k',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) waiting.add(item.key as string);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    for (const key of sent) if (!waiting.has(key)) sent.delete(key);
    for (const key of waiting) {
      if (sent.has(key) || stopped) continue;
      await scanOne(key);
      sent.add(key);
    }
  }

  const loop = () => {
    running = tick()
      .catch((err: unknown) => options.onError?.(err))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, options.intervalMs ?? 200);
      });
  };
  loop();

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
      db.destroy();
      s3.destroy();
      sqs.destroy();
    },
  };
}
