import { messageKind, queueMessageSchema, type MessageKind, type QueueMessage, type QueueMessages } from './job-queue';
import { safeJson, type QueueRecord } from './queue-record';

/** One handler per message kind: resolves when the record is done with, throws to have SQS deliver it again. */
export type MessageHandlers = {
  [K in MessageKind]: (message: QueueMessages[K], record: QueueRecord, remainingTimeMs: () => number) => Promise<void>;
};

/**
 * The worker's entry for one SQS record: parses the message and hands it to the
 * handler of its kind (`job`, the default, or `fileLink`). The map is checked
 * exhaustive by the compiler: a new kind needs its schema in job-queue.ts and a handler here.
 */
export class MessageDispatcher {
  constructor(private readonly handlers: MessageHandlers) {}

  async process(record: QueueRecord, remainingTimeMs: () => number = () => Number.POSITIVE_INFINITY): Promise<void> {
    const parsed = queueMessageSchema.safeParse(safeJson(record.body));
    // Not ours or corrupted: let it reach the DLQ where an operator can inspect it.
    if (!parsed.success) throw new Error(`Malformed queue message ${record.messageId}`);
    const message: QueueMessage = parsed.data;
    const handler = this.handlers[messageKind(message)] as (
      m: QueueMessage,
      r: QueueRecord,
      t: () => number,
    ) => Promise<void>;
    return handler(message, record, remainingTimeMs);
  }
}
