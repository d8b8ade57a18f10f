/**
 * The environment variables the Lambda handlers read: their names, and the
 * default and bounds of each integer setting. The stack (lib/constructs/) sets
 * them, the local hub (local/hub.ts) sets them for emulators, and the handlers
 * read them once at cold start through lambdas/shared/env.ts, which refuses a
 * value outside these bounds. The stack checks the same bounds at synth time.
 */

const DAY_SECONDS = 86_400;
const MiB = 1024 ** 2;

/** S3's largest object (and so the largest file). */
export const S3_MAX_OBJECT_BYTES = 5 * 1024 ** 4;
/** S3's smallest part of a multipart upload (all but the last). */
export const S3_MIN_PART_BYTES = 5 * MiB;
/** S3's largest single PUT (and part). */
export const S3_MAX_PUT_BYTES = 5 * 1024 ** 3;
/** SigV4's longest presigned URL lifetime. */
export const PRESIGNED_URL_MAX_SECONDS = 7 * DAY_SECONDS;

/** Variables that name a resource: a handler that reads one refuses to start without it. */
export type ResourceVariable =
  | 'STAGE'
  | 'CONNECTORS_TABLE'
  | 'JOBS_TABLE'
  | 'FILES_TABLE'
  | 'MIGRATIONS_TABLE'
  | 'FILES_BUCKET'
  | 'JOB_DATA_BUCKET'
  | 'JOBS_QUEUE_URL';

export interface IntBounds {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** Integer settings: default when unset, and the range a handler (and the stack) accepts. */
export const INT_SETTINGS = {
  /** How long a warm Lambda reuses a connector row. */
  CONNECTOR_CACHE_TTL_SECONDS: { default: 30, min: 0, max: DAY_SECONDS },
  /** How long a warm worker reuses an SSM secret. */
  SECRETS_CACHE_TTL_SECONDS: { default: 300, min: 0, max: DAY_SECONDS },
  /** How long finished jobs stay readable (DynamoDB TTL; job data objects expire a day later). */
  JOB_TTL_DAYS: { default: 30, min: 1, max: 36_500 },
  FILE_URL_EXPIRY_SECONDS: { default: 900, min: 1, max: PRESIGNED_URL_MAX_SECONDS },
  MAX_FILE_SIZE_BYTES: { default: S3_MAX_OBJECT_BYTES, min: 1, max: S3_MAX_OBJECT_BYTES },
  /** Larger files upload in parts; a part is at least S3's minimum, a single PUT at most S3's maximum. */
  MULTIPART_THRESHOLD_BYTES: { default: 8 * MiB, min: S3_MIN_PART_BYTES, max: S3_MAX_PUT_BYTES },
  /** The job queue's redrive maxReceiveCount, so the worker can tell a last receive; 0 = unknown (report none). */
  MAX_RECEIVE_COUNT: { default: 0, min: 0, max: 1000 },
  /** SDK calls to DynamoDB, SQS, SSM and job data: connect and answer within these. */
  SDK_CONNECTION_TIMEOUT_MS: { default: 3_000, min: 100, max: 60_000 },
  SDK_REQUEST_TIMEOUT_MS: { default: 5_000, min: 100, max: 300_000 },
  /** Files migrations (lambdas/files/migration.ts): ContentVersions per batch message. */
  MIGRATION_BATCH_SIZE: { default: 20, min: 1, max: 200 },
  /** A file is started only with this much of the invocation left (a larger worker timeout moves larger files). */
  MIGRATION_MIN_REMAINING_MS: { default: 20_000, min: 0, max: 900_000 },
  /** One PUT up to this size, else multipart; memory per transfer is about three parts. */
  MIGRATION_MULTIPART_THRESHOLD_BYTES: { default: 8 * MiB, min: 1, max: S3_MAX_PUT_BYTES },
  MIGRATION_PART_SIZE_BYTES: { default: 8 * MiB, min: S3_MIN_PART_BYTES, max: S3_MAX_PUT_BYTES },
} as const satisfies Record<string, IntBounds>;
export type IntSetting = keyof typeof INT_SETTINGS;

/** Variables with a fixed set of values; unset means the first. */
export const CHOICE_SETTINGS = {
  /** Whether connectors may call loopback/private addresses: never, on their "network": {"allowPrivate": true}, or always (local hub). */
  INTERNAL_TARGETS: ['refuse', 'opt-in', 'allow'],
  /** Files wait for a malware scan result: off, GuardDuty (stack option malwareScan), or the local stand-in scanner. */
  MALWARE_SCAN: ['', 'guardduty', 'local'],
} as const;
export type ChoiceSetting = keyof typeof CHOICE_SETTINGS;
export type ChoiceValue<N extends ChoiceSetting> = (typeof CHOICE_SETTINGS)[N][number];

/** What one handler reads. */
export interface HandlerEnvSpec {
  readonly resources: readonly ResourceVariable[];
  readonly settings: readonly IntSetting[];
  readonly choices: readonly ChoiceSetting[];
  /** Resources it reads only in some configurations (no default, no check). */
  readonly optional: readonly ResourceVariable[];
}

/** The tables, queue and buckets both handlers read. */
const JOB_AND_FILE_RESOURCES = [
  'CONNECTORS_TABLE',
  'JOBS_TABLE',
  'JOBS_QUEUE_URL',
  'FILES_TABLE',
  'MIGRATIONS_TABLE',
  'FILES_BUCKET',
  'JOB_DATA_BUCKET',
] as const satisfies readonly ResourceVariable[];

/** lambdas/api.ts */
export const CONTROLLER_ENV = {
  resources: JOB_AND_FILE_RESOURCES,
  settings: [
    'CONNECTOR_CACHE_TTL_SECONDS',
    'JOB_TTL_DAYS',
    'FILE_URL_EXPIRY_SECONDS',
    'MAX_FILE_SIZE_BYTES',
    'MULTIPART_THRESHOLD_BYTES',
  ],
  choices: ['MALWARE_SCAN'],
  optional: [],
} as const satisfies HandlerEnvSpec;

/** lambdas/worker.ts */
export const WORKER_ENV = {
  /** The files bucket: where migrated files go, and to match malware scan results to it. */
  resources: ['STAGE', ...JOB_AND_FILE_RESOURCES],
  settings: [
    'CONNECTOR_CACHE_TTL_SECONDS',
    'SECRETS_CACHE_TTL_SECONDS',
    'JOB_TTL_DAYS',
    'MAX_RECEIVE_COUNT',
    'MIGRATION_BATCH_SIZE',
    'MIGRATION_MIN_REMAINING_MS',
    'MIGRATION_MULTIPART_THRESHOLD_BYTES',
    'MIGRATION_PART_SIZE_BYTES',
  ],
  choices: ['INTERNAL_TARGETS', 'MALWARE_SCAN'],
  optional: [],
} as const satisfies HandlerEnvSpec;

/** Set on every function: Powertools' service name (log lines); source-mapped stack traces. */
export const COMMON_ENVIRONMENT = {
  POWERTOOLS_SERVICE_NAME: 'crm-bridge',
  NODE_OPTIONS: '--enable-source-maps',
} as const;

/** Whether a value is a whole number within a setting's bounds. */
export function inBounds(setting: IntSetting, value: number): boolean {
  const { min, max } = INT_SETTINGS[setting];
  return Number.isInteger(value) && value >= min && value <= max;
}
