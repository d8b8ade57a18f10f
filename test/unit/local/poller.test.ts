import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { SqsPoller } from '../../../local/poller';

/**
 * The local SQS event source over a mocked SQS client backed by an in-memory
 * queue: the cap on invocations, batched receives and deletes, and what stays
 * for redelivery.
 */
const sqsMock = mockClient(SQSClient);
afterAll(() => sqsMock.restore());

function memoryQueue(count: number) {
  const waiting: Message[] = Array.from({ length: count }, (_, i) => ({
    MessageId: `m${i}`,
    ReceiptHandle: `rh${i}`,
    Body: JSON.stringify({ i }),
  }));
  const receives: Array<{ asked: number; got: number }> = [];
  const deleteBatches: string[][] = [];
  sqsMock.reset();
  sqsMock.on(ReceiveMessageCommand).callsFake(async (input: { MaxNumberOfMessages: number }) => {
    const got = waiting.splice(0, input.MaxNumberOfMessages);
    receives.push({ asked: input.MaxNumberOfMessages, got: got.length });
    // An empty queue long-polls: answer after a short wait instead of at once.
    if (got.length === 0) await new Promise((r) => setTimeout(r, 20));
    return { Messages: got };
  });
  sqsMock.on(DeleteMessageBatchCommand).callsFake(async (input: { Entries: Array<{ ReceiptHandle: string }> }) => {
    deleteBatches.push(input.Entries.map((e) => e.ReceiptHandle));
    return { Successful: input.Entries.map((_, i) => ({ Id: String(i) })), Failed: [] };
  });
  return { waiting, receives, deleteBatches, deleted: () => deleteBatches.flat() };
}

function poller(
  handler: (event: SQSEvent) => Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> } | void>,
  maxConcurrency: number,
) {
  return new SqsPoller({
    sqs: new SQSClient({ region: 'us-east-1' }),
    queueUrl: 'https://sqs.local/000000000000/jobs',
    queueArn: 'arn:aws:sqs:us-east-1:000000000000:jobs',
    region: 'us-east-1',
    handler,
    maxConcurrency,
    batchSize: 1,
    functionTimeoutMs: 60_000,
  });
}

async function until(check: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('never more than maxConcurrency invocations; every message handled and deleted once', async () => {
  const queue = memoryQueue(200);
  const handled: string[] = [];
  const p = poller(async (event) => {
    await new Promise((r) => setTimeout(r, 10));
    handled.push(...event.Records.map((r) => r.messageId));
  }, 25);
  p.start();
  await until(() => queue.deleted().length === 200);
  await p.stop();
  expect(p.peakInFlight).toBe(25);
  expect(new Set(handled).size).toBe(200);
  expect(handled).toHaveLength(200);
  expect(new Set(queue.deleted()).size).toBe(200);
});

test('receives and deletes stay batched while the cap is reached (not one request per freed slot)', async () => {
  const queue = memoryQueue(300);
  const p = poller(() => new Promise((r) => setTimeout(r, 10)), 25);
  p.start();
  await until(() => queue.deleted().length === 300);
  await p.stop();
  const nonEmpty = queue.receives.filter((r) => r.got > 0);
  // 300 messages in receives of up to 10: 30 at best; one receive per finished job would be ~275.
  expect(nonEmpty.length).toBeLessThanOrEqual(40);
  expect(nonEmpty.every((r) => r.asked >= 10)).toBe(true);
  expect(queue.deleteBatches.length).toBeLessThanOrEqual(60);
});

test('a small cap holds no more messages in hand than the cap itself', async () => {
  const queue = memoryQueue(30);
  const p = poller(async () => {
    await new Promise((r) => setTimeout(r, 5));
  }, 2);
  p.start();
  await until(() => queue.deleted().length === 30);
  await p.stop();
  // A held message's visibility timeout runs: with a cap of 2, at most 2 running and 2 held.
  expect(p.peakInFlight).toBe(2);
  expect(Math.max(...queue.receives.map((r) => r.asked))).toBeLessThanOrEqual(4);
});

test('failed records stay for redelivery; an invocation that throws leaves its whole batch', async () => {
  const queue = memoryQueue(20);
  const p = poller(async (event) => {
    const id = event.Records[0]!.messageId;
    const n = Number(id.slice(1));
    if (n % 5 === 0) throw new Error('invocation failed');
    return { batchItemFailures: n % 2 === 0 ? [{ itemIdentifier: id }] : [] };
  }, 4);
  p.start();
  await until(() => queue.waiting.length === 0);
  await new Promise((r) => setTimeout(r, 100));
  await p.stop();
  const deleted = new Set(queue.deleted());
  const expected = Array.from({ length: 20 }, (_, n) => n).filter((n) => n % 5 !== 0 && n % 2 !== 0);
  expect([...deleted].sort()).toEqual(expected.map((n) => `rh${n}`).sort());
});
