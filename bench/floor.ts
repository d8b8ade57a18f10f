import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { JOBS_TABLE } from '../lambdas/contract/storage';
import { startEmulatorsThread } from '../local/emulators';
import { EMULATOR_CREDENTIALS, EMULATOR_REGION } from '../local/state';
import { createLocalResources } from '../local/hub';

/**
 * The floor under the hub's CPU per job: the calls one job makes at the least
 * (the API request; PutItem and SendMessage in the controller; ReceiveMessage,
 * the conditional UpdateItem to RUNNING, the limiter's GetItem, the upstream
 * call, the UpdateItem that records the outcome and DeleteMessageBatch in the
 * worker), made alone, with no handler code, through the same SDK clients to
 * the same emulators in threads of this process, 25 jobs at a time. What the
 * hub spends above it is its own code; the floor itself is the emulators', the
 * SDK's and the kernel's (loopback TCP).
 */
export async function measureEmulatorFloor(
  jobs = 1000,
  lanes = 25,
): Promise<{ cpuMsPerJob: number; perSec: number; aloneMs: { p50: number; p99: number } }> {
  const emulators = await startEmulatorsThread((err) => {
    throw err;
  });
  const http = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const agent = new Agent({ keepAlive: true });
  const port = (http.address() as AddressInfo).port;
  const hop = () =>
    new Promise<void>((resolve, reject) => {
      const req = request({ agent, port, host: '127.0.0.1', method: 'POST', path: '/x' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end('{"payload":{}}');
    });
  try {
    const { endpoints } = emulators;
    const { tables, queues } = await createLocalResources(endpoints, 25, 360);
    const ddb = new DynamoDBClient({
      region: EMULATOR_REGION,
      endpoint: endpoints.dynamodb,
      credentials: EMULATOR_CREDENTIALS,
      cacheMiddleware: true,
    });
    const sqs = new SQSClient({
      region: EMULATOR_REGION,
      endpoint: endpoints.sqs,
      credentials: EMULATOR_CREDENTIALS,
      cacheMiddleware: true,
      useQueueUrlAsEndpoint: false,
    });
    const pk = JOBS_TABLE.partitionKey;
    const oneJob = async (i: number) => {
      const id = `job-${i}`;
      await hop(); // the API request
      await ddb.send(
        new PutItemCommand({
          TableName: tables.jobs,
          Item: { [pk]: { S: id }, status: { S: 'QUEUED' }, payload: { S: '{"i":1}' } },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': pk },
        }),
      );
      await sqs.send(new SendMessageCommand({ QueueUrl: queues.jobs, MessageBody: JSON.stringify({ jobId: id }) }));
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queues.jobs, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }),
      );
      for (const m of Messages) {
        const { jobId } = JSON.parse(m.Body!) as { jobId: string };
        const key = { [pk]: { S: jobId } };
        await ddb.send(
          new UpdateItemCommand({
            TableName: tables.jobs,
            Key: key,
            UpdateExpression: 'SET #s = :running',
            ConditionExpression: '#s = :queued',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':running': { S: 'RUNNING' }, ':queued': { S: 'QUEUED' } },
            ReturnValues: 'ALL_NEW',
          }),
        );
        await ddb.send(
          new GetItemCommand({ TableName: tables.jobs, Key: { [pk]: { S: 'limiter#c' } }, ConsistentRead: true }),
        );
        await hop(); // the upstream call
        await ddb.send(
          new UpdateItemCommand({
            TableName: tables.jobs,
            Key: key,
            UpdateExpression: 'SET #s = :done, #r = :result',
            ConditionExpression: '#s = :running',
            ExpressionAttributeNames: { '#s': 'status', '#r': 'result' },
            ExpressionAttributeValues: {
              ':done': { S: 'SUCCEEDED' },
              ':running': { S: 'RUNNING' },
              ':result': { S: '{"ok":true}' },
            },
          }),
        );
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queues.jobs,
            Entries: [{ Id: '0', ReceiptHandle: m.ReceiptHandle! }],
          }),
        );
      }
    };
    let serial = 0;
    const run = async (count: number, width = lanes, took?: number[]) => {
      let left = count;
      await Promise.all(
        Array.from({ length: width }, async () => {
          while (left-- > 0) {
            const t = performance.now();
            await oneJob(serial++);
            took?.push(performance.now() - t);
          }
        }),
      );
    };
    // A warm-up round first, as the hub's figure is its warm round.
    await run(jobs / 2);
    const cpu = process.cpuUsage();
    const start = performance.now();
    await run(jobs);
    const used = process.cpuUsage(cpu);
    const seconds = (performance.now() - start) / 1000;
    ddb.destroy();
    sqs.destroy();
    // One job at a time: the time its calls take end to end, the floor under the hub's overhead at light load.
    const took: number[] = [];
    await run(200, 1, took);
    took.sort((a, b) => a - b);
    const at = (p: number) => Math.round(took[Math.ceil((p / 100) * took.length) - 1]! * 10) / 10;
    return {
      cpuMsPerJob: (used.user + used.system) / 1000 / jobs,
      perSec: jobs / seconds,
      aloneMs: { p50: at(50), p99: at(99) },
    };
  } finally {
    agent.destroy();
    await new Promise((r) => http.close(r));
    await emulators.stop();
  }
}
