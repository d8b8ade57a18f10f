import type { ApiAuthMode } from './constructs/api';
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  MAX_RECEIVE_COUNT_RULE,
  WORKER_CONCURRENCY,
  validMaxReceiveCount,
} from '../lambdas/contract/queue';
import { DEFAULT_STAGE, STAGE_PATTERN } from '../lambdas/contract/stack';

/**
 * Stack settings from CDK context (`cdk.json` or `-c key=value`), checked at synth
 * time so a bad value fails `cdk synth` with a message naming the key, not a
 * deploy half an hour later. Values given with `-c` arrive as strings, so
 * numbers, booleans and lists are accepted in string form too.
 */
export interface CrmBridgeConfig {
  /** Deployment stage: stack `CrmBridge-<stage>`, API stage name, SSM prefix `/crm-bridge/<stage>/`. */
  readonly stage: string;
  /** SQS event source maximum concurrency: the cap on jobs (external calls) in flight. */
  readonly workerConcurrency: number;
  /** Reserved concurrent executions for the worker; `false` = do not reserve. */
  readonly workerReservedConcurrency: number | false;
  /** Job queue redrive: receives before a message moves to the dead-letter queue (at least WORST_CASE_RECEIVES). */
  readonly maxReceiveCount: number;
  readonly apiAuth: ApiAuthMode;
  /** Browser origins allowed to use presigned file URLs (bucket CORS). */
  readonly corsOrigins: string[];
  /** What deleting the stack does to tables, bucket, queues and log groups. */
  readonly removalPolicy: 'retain' | 'destroy';
  /** Who may assume the Salesforce role (iam mode): an IAM ARN or a 12-digit account id; undefined = this account. */
  readonly salesforcePrincipalArn?: string;
  /** sts:ExternalId the Salesforce role requires (iam mode). */
  readonly salesforceExternalId: string;
  /** Connectors with "network": {"allowPrivate": true} may call loopback and private addresses (VPC-internal services). */
  readonly allowPrivateTargets: boolean;
  /** `guardduty`: GuardDuty Malware Protection scans the files bucket; files are AVAILABLE only once scanned clean. */
  readonly malwareScan: 'none' | 'guardduty';
  /** Subscribed (e-mail) to the alarm topic; undefined = no subscription. */
  readonly alarmEmail?: string;
}

/** The context keys this app reads, with their defaults (the README's table mirrors this). */
export const CONTEXT_DEFAULTS = {
  stage: DEFAULT_STAGE,
  workerConcurrency: WORKER_CONCURRENCY.default,
  /** = workerConcurrency */
  workerReservedConcurrency: undefined,
  /** 19 receives a job still retrying may need, plus 6 for worker crashes */
  maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT,
  apiAuth: 'iam',
  corsOrigins: [] as string[],
  removalPolicy: 'retain',
  /** this stack's own account */
  salesforcePrincipalArn: undefined,
  /** `crm-bridge-<stage>` */
  salesforceExternalId: undefined,
  allowPrivateTargets: false,
  malwareScan: 'none',
  /** no e-mail subscription */
  alarmEmail: undefined,
} as const;

/** Reads a context value; `app.node.tryGetContext` fits. */
export type ContextReader = (key: string) => unknown;

/** AWS's pattern for sts:ExternalId. */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const IAM_ARN = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:.+$/;
const ACCOUNT_ID = /^\d{12}$/;

function fail(key: string, expectation: string, raw: unknown): never {
  throw new Error(
    `Context "${key}" ${expectation}; got ${JSON.stringify(raw)}. Set it in cdk.json or with -c ${key}=...`,
  );
}

function integer(key: string, raw: unknown): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n)) fail(key, 'must be an integer', raw);
  return n;
}

function text(key: string, raw: unknown): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') fail(key, 'must be a string', raw);
  return raw.trim();
}

function list(key: string, raw: unknown): string[] {
  if (raw === undefined || raw === null || raw === '') return [];
  if (Array.isArray(raw)) return raw.map((v) => String(v).trim()).filter(Boolean);
  if (typeof raw !== 'string') fail(key, 'must be a list or a comma-separated string', raw);
  const s = raw.trim();
  if (s.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch {
      fail(key, 'must be a JSON array of strings or a comma-separated string', raw);
    }
    if (!Array.isArray(parsed)) fail(key, 'must be a JSON array of strings', raw);
    return list(key, parsed);
  }
  return s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

export function readConfig(get: ContextReader): CrmBridgeConfig {
  const stage = text('stage', get('stage')) ?? CONTEXT_DEFAULTS.stage;
  if (!STAGE_PATTERN.test(stage))
    fail(
      'stage',
      'must be 1-20 lowercase letters, digits or "-", starting with a letter (it names the stack, the API stage and the SSM path)',
      stage,
    );

  const concurrencyRaw = get('workerConcurrency');
  const workerConcurrency =
    concurrencyRaw === undefined ? CONTEXT_DEFAULTS.workerConcurrency : integer('workerConcurrency', concurrencyRaw);
  if (workerConcurrency < WORKER_CONCURRENCY.min || workerConcurrency > WORKER_CONCURRENCY.max) {
    fail(
      'workerConcurrency',
      `must be between ${WORKER_CONCURRENCY.min} and ${WORKER_CONCURRENCY.max} (the range of an SQS event source's maximum concurrency)`,
      workerConcurrency,
    );
  }

  // 0 / false: reserve nothing. New accounts often have a total quota of 10, where reserving 25 fails at deploy.
  const reservedRaw = get('workerReservedConcurrency');
  let workerReservedConcurrency: number | false = workerConcurrency;
  if (reservedRaw === false || reservedRaw === 'false' || reservedRaw === 'none') workerReservedConcurrency = false;
  else if (reservedRaw !== undefined && reservedRaw !== null && reservedRaw !== '') {
    const n = integer('workerReservedConcurrency', reservedRaw);
    if (n === 0) workerReservedConcurrency = false;
    else if (n < workerConcurrency) {
      // Fewer reserved executions than pollers: Lambda throttles, receive counts climb, good messages reach the DLQ.
      fail(
        'workerReservedConcurrency',
        `must be at least "workerConcurrency" (${workerConcurrency}) or 0 to reserve none (with fewer reserved executions than pollers Lambda throttles and good messages reach the dead-letter queue)`,
        n,
      );
    } else workerReservedConcurrency = n;
  }

  const receiveRaw = get('maxReceiveCount');
  const maxReceiveCount =
    receiveRaw === undefined || receiveRaw === null || receiveRaw === ''
      ? CONTEXT_DEFAULTS.maxReceiveCount
      : integer('maxReceiveCount', receiveRaw);
  if (!validMaxReceiveCount(maxReceiveCount)) fail('maxReceiveCount', MAX_RECEIVE_COUNT_RULE, maxReceiveCount);

  const apiAuth = text('apiAuth', get('apiAuth')) ?? CONTEXT_DEFAULTS.apiAuth;
  if (apiAuth !== 'iam' && apiAuth !== 'apiKey') fail('apiAuth', 'must be "iam" or "apiKey"', apiAuth);

  const corsOrigins = list('corsOrigins', get('corsOrigins'));
  for (const origin of corsOrigins) {
    // An origin is scheme + host (+ port), no path; plain http would let any network hop read file URLs.
    if (!/^https:\/\/[^/\s]+$/.test(origin))
      fail(
        'corsOrigins',
        'entries must be https origins without a path, such as https://acme.lightning.force.com',
        origin,
      );
  }

  const removalPolicy = (text('removalPolicy', get('removalPolicy')) ?? CONTEXT_DEFAULTS.removalPolicy).toLowerCase();
  if (removalPolicy !== 'retain' && removalPolicy !== 'destroy')
    fail('removalPolicy', 'must be "retain" or "destroy"', removalPolicy);

  const salesforcePrincipalArn = text('salesforcePrincipalArn', get('salesforcePrincipalArn'));
  const externalIdRaw = text('salesforceExternalId', get('salesforceExternalId'));
  if (apiAuth !== 'iam' && (salesforcePrincipalArn || externalIdRaw)) {
    throw new Error(
      'Context "salesforcePrincipalArn"/"salesforceExternalId" apply only with apiAuth "iam" (the Salesforce role signs SigV4 requests); remove them or set -c apiAuth=iam',
    );
  }
  if (salesforcePrincipalArn !== undefined) {
    if (!IAM_ARN.test(salesforcePrincipalArn) && !ACCOUNT_ID.test(salesforcePrincipalArn)) {
      fail(
        'salesforcePrincipalArn',
        'must be an IAM ARN (e.g. arn:aws:iam::123456789012:user/salesforce) or a 12-digit account id',
        salesforcePrincipalArn,
      );
    }
    // Another account's principal without an external id would expose the role to the confused-deputy problem.
    if (externalIdRaw === undefined) {
      throw new Error(
        'Context "salesforceExternalId" is required when "salesforcePrincipalArn" is set: the role trust policy checks it as sts:ExternalId. Choose a value, pass -c salesforceExternalId=..., and enter the same value in the Salesforce External Credential',
      );
    }
  }
  // dev keeps its guessable defaults for a first try; any other stage must choose who may assume the role.
  if (apiAuth === 'iam' && stage !== 'dev' && (salesforcePrincipalArn === undefined || externalIdRaw === undefined)) {
    throw new Error(
      `Stage "${stage}" needs context "salesforcePrincipalArn" and "salesforceExternalId" (apiAuth "iam"): without them the Salesforce role would trust the whole account with the guessable external ID "crm-bridge-${stage}". ` +
        'Pass -c salesforcePrincipalArn=arn:aws:iam::<account>:user/<the IAM user Salesforce signs with> -c salesforceExternalId=<a value of your own>, and enter the same external ID in the Salesforce External Credential (docs/salesforce-setup.md, A2)',
    );
  }
  const salesforceExternalId = externalIdRaw ?? `crm-bridge-${stage}`;
  if (!EXTERNAL_ID.test(salesforceExternalId))
    fail('salesforceExternalId', 'must be 2-1224 characters of letters, digits and +=,.@:/-_', salesforceExternalId);

  const privateRaw = get('allowPrivateTargets');
  let allowPrivateTargets: boolean = CONTEXT_DEFAULTS.allowPrivateTargets;
  if (privateRaw === true || privateRaw === 'true') allowPrivateTargets = true;
  else if (
    privateRaw !== undefined &&
    privateRaw !== null &&
    privateRaw !== '' &&
    privateRaw !== false &&
    privateRaw !== 'false'
  )
    fail('allowPrivateTargets', 'must be true or false', privateRaw);

  const malwareScan = (text('malwareScan', get('malwareScan')) ?? CONTEXT_DEFAULTS.malwareScan).toLowerCase();
  if (malwareScan !== 'none' && malwareScan !== 'guardduty')
    fail(
      'malwareScan',
      'must be "none" or "guardduty" (GuardDuty Malware Protection for S3 on the files bucket)',
      malwareScan,
    );
  const alarmEmail = text('alarmEmail', get('alarmEmail'));
  // SNS accepts any string and mails nobody: catch a typo here instead.
  if (alarmEmail !== undefined && !/^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/.test(alarmEmail))
    fail('alarmEmail', 'must be one e-mail address, such as ops@example.com', alarmEmail);

  return {
    malwareScan,
    alarmEmail,
    stage,
    workerConcurrency,
    workerReservedConcurrency,
    maxReceiveCount,
    apiAuth,
    corsOrigins,
    removalPolicy,
    salesforcePrincipalArn,
    salesforceExternalId,
    allowPrivateTargets,
  };
}
