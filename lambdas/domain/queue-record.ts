/** What the worker's handlers need of one SQS record (a subset of SQSRecord, so tests can build one). */
export interface QueueRecord {
  messageId: string;
  body: string;
  receiptHandle: string;
}

/** A body that is not JSON parses to undefined, so the message schema rejects it like any other wrong shape. */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
