/**
 * The jobs table's list indexes, declared once for the stack (lib/constructs/tables.ts)
 * and the local hub (local/hub.ts), so both list the same way.
 *
 * Sparse: only job items carry `jobCreatedAt` (idempotency keys and any other
 * item in the table do not), so only jobs are indexed. Both indexes are keyed by
 * attributes every status change already writes (`status`), so no write can
 * leave an index behind. The projection is the list view's fields: never the
 * payload or the result (up to 64 KB each), so a page stays small and the index
 * items stay cheap to rewrite.
 */
export const JOB_LIST_SORT_KEY = 'jobCreatedAt';

export const JOB_INDEXES = {
  /** Jobs of one connector, newest first (a status filter reads this one). */
  byConnector: { partitionKey: 'connectorId' },
  /** Jobs in one status, newest first. */
  byStatus: { partitionKey: 'status' },
} as const;
export type JobIndexName = keyof typeof JOB_INDEXES;

/** The fields of a listed job (jobView without result): projected into each index. */
export const JOB_LIST_FIELDS = [
  'jobId',
  'connectorId',
  'operation',
  'status',
  'attempts',
  'createdAt',
  'updatedAt',
  'recordId',
  'correlationId',
  'error',
  'nextAttemptAt',
  'delivery',
  'history',
  'waiting',
] as const;

/** Non-key attributes to project into an index (its own keys and the table's are always there). */
export function projectedFields(index: JobIndexName): string[] {
  return JOB_LIST_FIELDS.filter((f) => f !== JOB_INDEXES[index].partitionKey);
}
