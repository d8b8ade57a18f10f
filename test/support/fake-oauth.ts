import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OAuth 2.0 token endpoint (client credentials grant) on 127.0.0.1, as RFC 6749 describes it:
 * - client authentication (§2.3.1): client_secret_basic, where id and secret are each
 *   application/x-www-form-urlencoded (Appendix B) before they are joined with ":" and
 *   base64-encoded, or client_secret_post (client_id/client_secret in the form body);
 * - success (§5.1): 200, JSON {access_token, token_type, expires_in, scope}, Cache-Control: no-store;
 * - failure (§5.2): 400 {error, error_description}; invalid_client is 401 with WWW-Authenticate
 *   when the client authenticated with the Authorization header.
 * `basic: "raw"` plays the servers that compare the Basic credentials without decoding them.
 */
export interface FakeOAuth {
  tokenUrl: string;
  requests: Array<{ headers: IncomingHttpHeaders; form: URLSearchParams }>;
  /** Access tokens issued so far. */
  readonly issued: number;
  close(): Promise<void>;
}

/** Decoding of application/x-www-form-urlencoded: "+" is a space, %HH a byte. */
const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));

export async function startFakeOAuth(opts: {
  clientId: string;
  clientSecret: string;
  basic?: 'rfc6749' | 'raw';
  scope?: string;
  /** Access tokens are this prefix and a counter. @default "fake-access-token-" */
  tokenPrefix?: string;
  /** expires_in (seconds) for a requested scope. @default 3600 */
  lifetime?: (scope: string | null) => number;
}): Promise<FakeOAuth> {
  const requests: FakeOAuth['requests'] = [];
  let issued = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      requests.push({ headers: req.headers, form });
      const answer = (status: number, body: object, headers: Record<string, string> = {}) => {
        res.writeHead(status, {
          'content-type': 'application/json;charset=UTF-8',
          'cache-control': 'no-store',
          pragma: 'no-cache',
          ...headers,
        });
        res.end(JSON.stringify(body));
      };
      if (form.get('grant_type') !== 'client_credentials') return answer(400, { error: 'unsupported_grant_type' });
      let id: string | undefined;
      let secret: string | undefined;
      const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
      if (basic) {
        const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        const [rawId, rawSecret] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
        try {
          [id, secret] = opts.basic === 'raw' ? [rawId, rawSecret] : [formDecode(rawId), formDecode(rawSecret)];
        } catch {
          // a malformed %-escape: authentication fails below
        }
      } else {
        [id, secret] = [form.get('client_id') ?? undefined, form.get('client_secret') ?? undefined];
      }
      if (id !== opts.clientId || secret !== opts.clientSecret) {
        return answer(
          401,
          { error: 'invalid_client', error_description: 'Client authentication failed' },
          basic ? { 'www-authenticate': 'Basic realm="token"' } : {},
        );
      }
      issued += 1;
      return answer(200, {
        access_token: `${opts.tokenPrefix ?? 'fake-access-token-'}${issued}`,
        token_type: 'Bearer',
        expires_in: opts.lifetime?.(form.get('scope')) ?? 3600,
        scope: form.get('scope') ?? opts.scope ?? 'api',
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    tokenUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`,
    requests,
    get issued() {
      return issued;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
