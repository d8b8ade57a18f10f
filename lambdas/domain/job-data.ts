import { JOB_DATA_PREFIX } from '../contract/storage';

/**
 * Claim check for job data: a payload or result too large to sit in the job
 * item (DynamoDB caps an item at 400 KB) is kept as an object in the job data
 * store, and the item keeps only its key. The store is a port so the domain
 * code never calls the S3 SDK itself (adapter: s3-job-data-store.ts).
 */
export interface JobDataStore {
  put(key: string, body: string): Promise<void>;
  /** Rejects when the object does not exist. */
  get(key: string): Promise<string>;
}

/** Largest payload a callout may carry (serialized JSON). */
export const MAX_PAYLOAD_BYTES = 5 * 1024 * 1024;
/** Largest result a job keeps (serialized JSON); a larger one ends the job RESULT_TOO_LARGE. */
export const MAX_RESULT_BYTES = 5 * 1024 * 1024;
/**
 * Above this a payload or a result goes to the data store. Both inline at most
 * (128 KB) plus an error, a delivery state and the rest stay well under 400 KB.
 */
export const INLINE_MAX_BYTES = 64 * 1024;

/**
 * Object keys, by kind: IAM grants are scoped to these prefixes (the controller
 * writes payloads, the worker writes results).
 */
export const jobDataKey = {
  payload: (jobId: string) => `${JOB_DATA_PREFIX.payload}${jobId}.json`,
  result: (jobId: string) => `${JOB_DATA_PREFIX.result}${jobId}.json`,
};

/** Where a payload or result is kept: in the job item, or as an object (its key and JSON body). */
export type JobDataPlacement = { inline: unknown } | { ref: string; body: string };

/**
 * The claim-check rule: a value whose JSON is over `inlineMaxBytes` goes to the
 * data store under its job's key; anything else stays in the item. The
 * repository applies it when it has a data store, and stores the body.
 */
export function placeJobData(
  kind: keyof typeof jobDataKey,
  jobId: string,
  value: unknown,
  inlineMaxBytes = INLINE_MAX_BYTES,
): JobDataPlacement {
  const body = JSON.stringify(value) ?? 'null';
  if (Buffer.byteLength(body) <= inlineMaxBytes) return { inline: value };
  return { ref: jobDataKey[kind](jobId), body };
}
