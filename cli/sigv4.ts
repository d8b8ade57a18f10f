import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { SignatureV4 } from '@smithy/signature-v4';

/**
 * AWS Signature V4 for the CLI's calls to a stack deployed with apiAuth=iam (the default): API Gateway's
 * IAM authorization accepts requests signed for the service execute-api by a principal allowed
 * execute-api:Invoke on the API. Credentials come from the AWS SDK's default chain (env, profile, SSO, ...).
 */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
export type CredentialProvider = () => Promise<AwsCredentials>;

/** SHA-256 / HMAC-SHA-256 in the shape the signer expects, from node:crypto (no extra package). */
class Sha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    const key =
      typeof this.secret === 'string'
        ? this.secret
        : ArrayBuffer.isView(this.secret)
          ? Buffer.from(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength)
          : Buffer.from(this.secret);
    return createHmac('sha256', key);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(
      typeof data === 'string'
        ? data
        : ArrayBuffer.isView(data)
          ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
          : Buffer.from(data),
    );
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

/** The region in an execute-api URL (https://<id>.execute-api.<region>.amazonaws.com/<stage>), if it is one. */
export function regionFromApiUrl(url: string): string | undefined {
  return /^https:\/\/[^/.]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?(\/|$)/.exec(url)?.[1];
}

/** A function returning the headers that sign one request (host, x-amz-date, authorization, ...). */
export type RequestSigner = (
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: string,
) => Promise<Record<string, string>>;

export function sigV4Signer(region: string, credentials: CredentialProvider): RequestSigner {
  // The signer's package loads on the first signed request (~0.4 s here), not when the CLI starts.
  let loaded: Promise<SignatureV4> | undefined;
  return async (method, url, headers, body) => {
    const signer = await (loaded ??= import('@smithy/signature-v4').then(
      ({ SignatureV4 }) => new SignatureV4({ service: 'execute-api', region, credentials, sha256: Sha256 }),
    ));
    const u = new URL(url);
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of u.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const signed = await signer.sign({
      method,
      protocol: u.protocol,
      hostname: u.hostname,
      port: u.port ? Number(u.port) : undefined,
      path: u.pathname,
      query,
      headers: { ...headers, host: u.host },
      body,
    });
    // fetch sets Host itself (the same value): it is signed, not sent twice.
    const { host: _host, ...rest } = signed.headers as Record<string, string>;
    return rest;
  };
}
