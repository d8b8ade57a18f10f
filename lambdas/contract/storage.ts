/**
 * Tables, keys and object prefixes the stack creates and grants on, the local
 * hub creates on emulators, and the handlers read and write. The jobs table's
 * list indexes are in job-indexes.ts.
 */

/** Connector rows. */
export const CONNECTORS_TABLE_KEY = 'connectorId';

/** Jobs, idempotency keys and connector limiter records, expiring through the TTL attribute. */
export const JOBS_TABLE = { partitionKey: 'pk', timeToLive: 'expiresAt' } as const;

/** File records, and the index that lists a CRM record's files, oldest first by `createdAt`. */
export const FILES_TABLE = {
  partitionKey: 'fileId',
  byRecord: { indexName: 'byRecordId', partitionKey: 'recordId', sortKey: 'createdAt' },
} as const;

/** Files migrations: each migration's state and audit rows, and the copy markers (no TTL: the audit is kept). */
export const MIGRATIONS_TABLE = { partitionKey: 'pk', sortKey: 'sk' } as const;

/**
 * The claim-check bucket's object prefixes: IAM grants are scoped to them (the
 * controller writes payloads, the worker writes results).
 */
export const JOB_DATA_PREFIX = { payload: 'payloads/', result: 'results/' } as const;

/** The files bucket's objects (GuardDuty scans only this prefix). */
export const FILES_PREFIX = 'files/';
