/**
 * Stack settings from CDK context, checked at synth time so a bad value fails
 * `cdk synth` with a message naming the key, not a deploy half an hour later.
 */
export interface CrmBridgeConfig {
  readonly stage: string;
  /** SQS event source maximum concurrency: the cap on jobs in flight. */
  readonly workerConcurrency: number;
  /** Reserved concurrency for the worker; undefined = do not reserve. */
  readonly workerReservedConcurrency?: number;
  readonly apiAuth: 'iam' | 'apiKey';
  readonly corsOrigins: string[];
  readonly destroyOnRemoval: boolean;
  readonly salesforcePrincipalArn?: string;
  readonly salesforceExternalId?: string;
}

type Context = (key: string) => unknown;

function intValue(key: string, raw: unknown): number {
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n)) throw new Error(`Context "${key}" must be an integer, got ${JSON.stringify(raw)}`);
  return n;
}

export function readConfig(get: Context): CrmBridgeConfig {
  const stage = String(get('stage') ?? 'dev');
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(stage)) throw new Error(`Context "stage" must be 1-20 lowercase letters, digits or "-", starting with a letter; got "${stage}"`);

  const workerConcurrency = intValue('workerConcurrency', get('workerConcurrency') ?? 25);
  if (workerConcurrency < 2 || workerConcurrency > 1000) {
    throw new Error(`Context "workerConcurrency" must be between 2 and 1000 (the SQS event source's maximum concurrency range); got ${workerConcurrency}`);
  }
  const reservedRaw = get('workerReservedConcurrency');
  let workerReservedConcurrency: number | undefined = workerConcurrency;
  if (reservedRaw === false || reservedRaw === 'false' || reservedRaw === 0 || reservedRaw === '0') workerReservedConcurrency = undefined;
  else if (reservedRaw !== undefined) {
    workerReservedConcurrency = intValue('workerReservedConcurrency', reservedRaw);
    if (workerReservedConcurrency < workerConcurrency) {
      throw new Error(
        `Context "workerReservedConcurrency" (${workerReservedConcurrency}) must be at least "workerConcurrency" (${workerConcurrency}), or 0 to reserve none: with fewer reserved executions than pollers, Lambda throttles and good messages reach the dead-letter queue`,
      );
    }
  }

  const apiAuth = String(get('apiAuth') ?? 'iam');
  if (apiAuth !== 'iam' && apiAuth !== 'apiKey') throw new Error(`Context "apiAuth" must be "iam" or "apiKey"; got "${apiAuth}"`);

  const corsRaw = get('corsOrigins');
  const corsOrigins = corsRaw === undefined ? [] : Array.isArray(corsRaw) ? corsRaw.map(String) : String(corsRaw).split(',').map((s) => s.trim()).filter(Boolean);
  for (const origin of corsOrigins) {
    if (!/^https:\/\/[^/]+$/.test(origin)) throw new Error(`Context "corsOrigins": "${origin}" must be an https origin such as https://example.lightning.force.com`);
  }

  const removal = String(get('removalPolicy') ?? 'retain');
  if (removal !== 'retain' && removal !== 'destroy') throw new Error(`Context "removalPolicy" must be "retain" or "destroy"; got "${removal}"`);

  const salesforcePrincipalArn = get('salesforcePrincipalArn') as string | undefined;
  const salesforceExternalId = get('salesforceExternalId') as string | undefined;
  if (salesforcePrincipalArn && !salesforceExternalId) {
    throw new Error('Context "salesforceExternalId" is required when "salesforcePrincipalArn" is set: the role trust policy checks it (sts:ExternalId)');
  }

  return { stage, workerConcurrency, workerReservedConcurrency, apiAuth, corsOrigins, destroyOnRemoval: removal === 'destroy', salesforcePrincipalArn, salesforceExternalId };
}
