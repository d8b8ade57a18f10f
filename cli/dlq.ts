import type { Message } from '@aws-sdk/client-sqs';

// The SQS client module is loaded when a dlq command runs, not for every CLI start.
const sqsSdk = () => import('@aws-sdk/client-sqs');
import type { Command } from 'commander';
import { targetOptions, withTarget } from './common';
import type { Target } from './target';

/** Receives up to `max` DLQ messages (hidden for `hideSeconds` while we look at them). */
async function receiveAll(t: Target, max: number, hideSeconds: number): Promise<Message[]> {
  const { ReceiveMessageCommand } = await sqsSdk();
  const out: Message[] = [];
  while (out.length < max) {
    const page = await t.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: t.queues.deadLetter,
        MaxNumberOfMessages: Math.min(10, max - out.length),
        WaitTimeSeconds: 1,
        VisibilityTimeout: hideSeconds,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (!page.Messages?.length) break;
    out.push(...page.Messages);
  }
  return out;
}

export function registerDlqCommands(program: Command): void {
  const cmd = program
    .command('dlq')
    .description('Inspect and replay jobs whose messages ended in the dead-letter queue');

  targetOptions(
    cmd
      .command('list')
      .option('--max <n>', 'most messages to show', '100')
      .description('Show dead-lettered job messages'),
  ).action(
    withTarget(async (t, opts: { max: string }) => {
      const max = Number(opts.max);
      const { ChangeMessageVisibilityBatchCommand } = await sqsSdk();
      const messages = await receiveAll(t, max, 30);
      for (const m of messages)
        console.log(`${m.MessageId}\treceives=${m.Attributes?.ApproximateReceiveCount ?? '?'}\t${m.Body}`);
      // Make them visible again at once: listing must not hide them.
      for (let i = 0; i < messages.length; i += 10) {
        const batch = messages.slice(i, i + 10);
        await t.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: t.queues.deadLetter,
            Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
          }),
        );
      }
      console.error(`${messages.length} message(s) in the dead-letter queue of ${t.description}`);
    }),
  );

  targetOptions(
    cmd
      .command('replay')
      .option('--max <n>', 'most messages to replay', '1000')
      .description('Send dead-lettered messages back to the job queue'),
  ).action(
    withTarget(async (t, opts: { max: string }) => {
      const max = Number(opts.max);
      const { SendMessageCommand, DeleteMessageCommand } = await sqsSdk();
      const messages = await receiveAll(t, max, 120);
      for (const m of messages) {
        await t.sqs.send(new SendMessageCommand({ QueueUrl: t.queues.jobs, MessageBody: m.Body! }));
        await t.sqs.send(new DeleteMessageCommand({ QueueUrl: t.queues.deadLetter, ReceiptHandle: m.ReceiptHandle! }));
      }
      console.error(`replayed ${messages.length} message(s) to the job queue of ${t.description}`);
    }),
  );
}
