import type { Command } from 'commander';
import { regionFromApiUrl, sigV4Signer, type RequestSigner } from './sigv4';
import { DEFAULT_STAGE, STACK_OUTPUTS, stackName as stackOf } from '../lambdas/contract/stack';
import { CliError, localApi } from './target';

/**
 * The hub's HTTP API as the `files` and `jobs` commands call it (they never touch
 * AWS resources directly): the local hub, or a deployed stack's API Gateway.
 */
export interface ApiTarget {
  baseUrl: string;
  /** x-api-key (the local hub, or a stack deployed with apiAuth=apiKey)... */
  apiKey?: string;
  /** ...or SigV4 signing (a stack deployed with the default apiAuth=iam). */
  sign?: RequestSigner;
}

export interface ApiOptions {
  local?: boolean;
  apiUrl?: string;
  apiKey?: string;
  stage?: string;
  stack?: string;
  region?: string;
}

export function apiOptions(cmd: Command): Command {
  return cmd
    .option('--local', 'use the running local hub (npm start)')
    .option('--api-url <url>', 'deployed API base URL (or CRM_BRIDGE_API_URL; default: the stack output ApiUrl)')
    .option(
      '--api-key <key>',
      'API key (or CRM_BRIDGE_API_KEY), for a stack deployed with apiAuth=apiKey; without one, requests are signed with SigV4 and your AWS credentials',
    )
    .option('--stage <stage>', 'deployed stage whose ApiUrl to use (default dev)')
    .option('--stack <name>', 'deployed stack name (default CrmBridge-<stage>)')
    .option('--region <region>', 'AWS region of the stack (default: from the API URL or your AWS config)');
}

/**
 * The local hub (--local), an API key (--api-key / CRM_BRIDGE_API_KEY), or else SigV4 with the AWS
 * credentials of the default chain, against --api-url / CRM_BRIDGE_API_URL or the stack output ApiUrl.
 */
export async function apiTarget(opts: ApiOptions): Promise<ApiTarget> {
  if (opts.local) {
    return localApi(); // only the API's address and key are needed: no SDK clients
  }
  let baseUrl = opts.apiUrl ?? process.env.CRM_BRIDGE_API_URL;
  const apiKey = opts.apiKey ?? process.env.CRM_BRIDGE_API_KEY;
  if (baseUrl && apiKey) return { baseUrl: baseUrl.replace(/\/+$/, ''), apiKey };
  // The SDK loads only here: its client resolves the default credential chain (and reads the stack's outputs).
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const region = opts.region ?? (baseUrl ? regionFromApiUrl(baseUrl) : undefined);
  const cfn = new CloudFormationClient(region ? { region } : {});
  try {
    if (!baseUrl) {
      const stackName = opts.stack ?? stackOf(opts.stage ?? DEFAULT_STAGE);
      try {
        const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
        baseUrl = Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === STACK_OUTPUTS.apiUrl)?.OutputValue;
      } catch (err) {
        throw new CliError(
          `Could not read stack ${stackName}: ${(err as Error).message}. Pass --stage/--stack/--region, --api-url, or --local for the local hub.`,
        );
      }
      if (!baseUrl) throw new CliError(`Stack ${stackName} has no output ${STACK_OUTPUTS.apiUrl}`);
    }
    const signingRegion = opts.region ?? regionFromApiUrl(baseUrl) ?? (await cfn.config.region());
    const credentials = cfn.config.credentials;
    return { baseUrl: baseUrl.replace(/\/+$/, ''), sign: sigV4Signer(signingRegion, () => credentials()) };
  } finally {
    cfn.destroy();
  }
}

/** One call to the API: its status and parsed JSON body (undefined when the body is not JSON). */
export async function api<T>(
  t: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const url = t.baseUrl + path;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  let headers: Record<string, string> = { 'content-type': 'application/json' };
  if (t.apiKey !== undefined) headers['x-api-key'] = t.apiKey;
  else if (t.sign) {
    try {
      headers = await t.sign(method, url, headers, payload);
    } catch (err) {
      throw new CliError(
        `Could not sign the request with AWS credentials (${(err as Error).message}); configure them (aws configure, AWS_PROFILE), or pass --api-key for a stack deployed with -c apiAuth=apiKey`,
      );
    }
  }
  const res = await fetch(url, { method, headers, body: payload });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined; // e.g. a proxy's HTML error page: the status says enough
  }
  return { status: res.status, body: parsed as T };
}

/** One call that must succeed: the API's error envelope becomes a CliError (exit 2 for a bad request). */
export async function apiOk<T>(t: ApiTarget, method: string, path: string, body?: unknown): Promise<T> {
  const res = await api<T & { error?: { code: string; message: string } }>(t, method, path, body);
  if (res.status >= 400) {
    const e = res.body?.error;
    throw new CliError(
      e ? `${e.code}: ${e.message}` : `HTTP ${res.status} from ${method} ${path}`,
      res.status === 400 || res.status === 413 ? 2 : 1,
    );
  }
  return res.body;
}
