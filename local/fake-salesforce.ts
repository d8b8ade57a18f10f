import { text as readBody } from 'node:stream/consumers';
import { createHash, generateKeyPairSync, randomBytes, randomUUID, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Salesforce on 127.0.0.1, answering like its OAuth and
 * REST APIs: a login server standing in for the org's My Domain
 * (`/services/oauth2/token`, client credentials and JWT bearer with a verified
 * RS256 signature), a second one standing in for the generic login host
 * (login.salesforce.com), and a separate instance server (the `instance_url` it
 * hands out) with sObject create/update/upsert, SOQL query with paging,
 * Platform Event publish, Composite (allOrNone rollback, `@{ref.id}`
 * references), Salesforce's error arrays and INVALID_SESSION_ID. Records live in
 * memory; tests can seed them, expire sessions and inject failures.
 *
 * Where each shape comes from (REST API Developer Guide,
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/, unless named):
 * - token answers {access_token, signature, scope, instance_url, id, token_type, issued_at}:
 *   "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration" and "OAuth 2.0 JWT
 *   Bearer Flow for Server-to-Server Integration" (Salesforce Help, remoteaccess_oauth_*_flow.htm).
 *   JWT: `aud` is https://login.salesforce.com (https://test.salesforce.com for a sandbox),
 *   `exp` within 3 minutes. The client credentials flow works on My Domain only; on the
 *   generic login host it answers invalid_grant "request not supported on this domain".
 * - errors: arrays of {message, errorCode, fields} ("Status Codes and Error Responses");
 *   an upsert or update body naming Id or the external id field: 400 INVALID_FIELD "The X field
 *   should not be specified in the sobject data." ("Insert or Update (Upsert) a Record Using
 *   an External ID"); several records with one external id: 300 and the list of their URLs.
 * - Platform Event publish: 201 {id, success: true, errors: [{statusCode: "OPERATION_ENQUEUED",
 *   message: <EventUuid>, fields: []}]} (Platform Events Developer Guide, "Publish Event Messages
 *   Using Salesforce APIs"); events with "Publish Immediately" (the default) are not rolled
 *   back with a failed transaction, "Publish After Commit" ones are.
 * - SOQL: field names in their canonical spelling whatever the query's case; parent fields
 *   nested as {Account: {attributes: {type, url}, Name}} ("Query", "Relationship Queries" in
 *   the SOQL and SOSL Reference).
 * - Composite: {compositeResponse: [{body, httpHeaders, httpStatusCode, referenceId}]}, with
 *   httpHeaders.Location on a 201 ("Composite", "Composite Subrequest Result").
 */
export interface SalesforceErrorItem {
  errorCode: string;
  message: string;
  fields?: string[];
}

export interface SfRecord {
  Id: string;
  attributes: { type: string };
  [field: string]: unknown;
}

export interface SfCall {
  method: string;
  /** Path under /services/data/vXX.X (e.g. "/sobjects/Account"), query string excluded. */
  path: string;
  version: string;
  query: Record<string, string>;
  body: unknown;
  accessToken?: string;
  /** A subrequest of a Composite request. */
  composite: boolean;
  /** The request's Sforce-Call-Options header (a subrequest: its Composite request's). */
  callOptions?: string;
  /** The request's W3C traceparent header (a subrequest: its Composite request's). */
  traceparent?: string;
}

export interface TokenRequest {
  grantType: string;
  clientId?: string;
  jwt?: { header: Record<string, unknown>; claims: Record<string, unknown> };
  ok: boolean;
}

export interface InjectedFailure {
  status: number;
  errors: SalesforceErrorItem[];
  headers?: Record<string, string>;
}

export interface FakeSalesforceOptions {
  /** Platform Event types published "Publish After Commit" (rolled back with a failed allOrNone Composite); others "Publish Immediately". */
  publishAfterCommit?: string[];
  /** The JWT `aud` the login servers accept. @default https://login.salesforce.com */
  jwtAudience?: string;
  /** Client credentials apps. */
  clients?: Array<{ clientId: string; clientSecret: string }>;
  /** JWT bearer apps: the certificate's public key and the users they may act as. */
  jwtApps?: Array<{ clientId: string; publicKeyPem: string; usernames: string[] }>;
  /** Query page size (Salesforce: up to 2,000). @default 2000 */
  pageSize?: number;
  /** sObject type -> fields a create must have (REQUIRED_FIELD_MISSING otherwise). */
  requiredFields?: Record<string, string[]>;
}

export interface FakeSalesforce {
  /** The org's My Domain login server. */
  loginUrl: string;
  /** Stands in for the generic login host (login.salesforce.com): no client credentials flow there. */
  genericLoginUrl: string;
  instanceUrl: string;
  tokenRequests: TokenRequest[];
  calls: SfCall[];
  events: Array<{ type: string; id: string; fields: Record<string, unknown> }>;
  /** Event id -> the EventUuid its publish answered with. */
  eventUuids: Map<string, string>;
  records: Map<string, SfRecord>;
  seed(type: string, fields: Record<string, unknown>): string;
  /** Every access token handed out so far stops working (INVALID_SESSION_ID). */
  expireSessions(): void;
  /** Data API requests (instance server) wait this long before they are answered. */
  setLatency(ms: number): void;
  /** The most data API requests in flight at once since the last reset. */
  readonly maxInFlight: number;
  /**
   * A Salesforce File: a ContentDocument with one ContentVersion (IsLatest, ContentSize, Checksum = the
   * content's MD5 unless `checksum` says otherwise) and ContentDocumentLinks to its owner (a User) and `links`.
   */
  seedFile(file: {
    title: string;
    extension?: string;
    content: Buffer;
    links?: string[];
    checksum?: string;
    createdDate?: string;
  }): { documentId: string; versionId: string };
  /** A new version of a document: it becomes the latest. */
  seedVersion(documentId: string, content: Buffer): string;
  /** File bytes by ContentVersion id (VersionData). */
  contents: Map<string, Buffer>;
  /** The next download of this version sends `afterBytes` bytes, then the connection drops. */
  failDownload(versionId: string, afterBytes: number): void;
  /** The next `times` requests (top-level or Composite subrequest) matching "METHOD /path-prefix" get this error. */
  fail(match: string, failure: InjectedFailure, times?: number): void;
  reset(): void;
  close(): Promise<void>;
}

export function generateTestKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const KEY_PREFIXES: Record<string, string> = {
  Account: '001',
  Contact: '003',
  Opportunity: '006',
  Lead: '00Q',
  Case: '500',
  User: '005',
  ContentVersion: '068',
  ContentDocument: '069',
  ContentDocumentLink: '06A',
};
const NOT_FOUND: SalesforceErrorItem = { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' };
const HALTED: SalesforceErrorItem = {
  errorCode: 'PROCESSING_HALTED',
  message: 'The transaction was rolled back since another operation in the same transaction failed.',
};

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const errorAnswer = (status: number, ...errors: SalesforceErrorItem[]): Answer => ({ status, body: errors });

/**
 * JSON as Salesforce writes it, where a Number(18, 0) field may exceed 2^53: a
 * bigint field value (seeded by a test) is written as its plain digits.
 */
function toJson(body: unknown): string {
  return JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? `\u0000bigint:${v}` : v)).replace(
    /"\\u0000bigint:(-?\d+)"/g,
    '$1',
  );
}

function send(res: ServerResponse, answer: Answer): void {
  const hasBody = answer.body !== undefined && answer.status !== 204;
  res.writeHead(answer.status, {
    ...(hasBody && { 'content-type': 'application/json;charset=UTF-8' }),
    ...answer.headers,
  });
  res.end(hasBody ? toJson(answer.body) : undefined);
}

// --- a small SOQL subset: SELECT f, ... FROM T [WHERE cond] [ORDER BY f [ASC|DESC]] [LIMIT n], where
// cond is comparisons (=, !=, <>, <, <=, >, >=, LIKE, IN, NOT IN) joined by AND, OR, NOT and parentheses.

type Literal = string | number | boolean | null;
export type SoqlCondition =
  | { kind: 'cmp'; field: string; op: string; values: Literal[] }
  | { kind: 'and'; parts: SoqlCondition[] }
  | { kind: 'or'; parts: SoqlCondition[] }
  | { kind: 'not'; part: SoqlCondition };

const DATE_TOKEN = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/;

function tokenize(soql: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < soql.length) {
    const c = soql[i]!;
    if (/\s/.test(c)) i += 1;
    else if (c === "'") {
      let j = i + 1;
      let text = '';
      while (j < soql.length && soql[j] !== "'") {
        if (soql[j] === '\\') {
          const e = soql[j + 1]!;
          text += ({ n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' } as Record<string, string>)[e] ?? e;
          j += 2;
        } else text += soql[j++];
      }
      if (j >= soql.length) throw new Error('unterminated string literal');
      tokens.push(`'${text}`); // marked as a string literal by the leading quote
      i = j + 1;
    } else if (/^(!=|<>|<=|>=)/.test(soql.slice(i))) {
      tokens.push(soql.slice(i, i + 2));
      i += 2;
    } else if ('=(),<>'.includes(c)) {
      tokens.push(c);
      i += 1;
    } else {
      const m = /^[A-Za-z0-9_.:+-]+/.exec(soql.slice(i));
      if (!m) throw new Error(`unexpected character ${c}`);
      tokens.push(m[0]);
      i += m[0].length;
    }
  }
  return tokens;
}

function literalOf(token: string | undefined): Literal {
  if (token === undefined) throw new Error('missing value');
  if (token.startsWith("'")) return token.slice(1);
  if (/^-?\d+(\.\d+)?$/.test(token)) return Number(token);
  if (/^(true|false)$/i.test(token)) return token.toLowerCase() === 'true';
  if (/^null$/i.test(token)) return null;
  // Dates and date-times compare as their ISO text, which orders them.
  if (DATE_TOKEN.test(token)) return token;
  throw new Error(`unexpected token ${token}`);
}

export function parseSoql(soql: string): {
  fields: string[];
  type: string;
  where?: SoqlCondition;
  orderBy?: { field: string; desc: boolean };
  limit?: number;
} {
  const t = tokenize(soql);
  let i = 0;
  const upper = () => t[i]?.toUpperCase();
  const expect = (word: string) => {
    if (upper() !== word) throw new Error(`expected ${word} at ${t[i] ?? 'end'}`);
    i += 1;
  };
  expect('SELECT');
  const fields: string[] = [];
  do {
    if (t[i] === ',') i += 1;
    fields.push(t[i++]!);
  } while (t[i] === ',');
  expect('FROM');
  const type = t[i++]!;
  const or = (): SoqlCondition => {
    const parts = [and()];
    while (upper() === 'OR') {
      i += 1;
      parts.push(and());
    }
    return parts.length === 1 ? parts[0]! : { kind: 'or', parts };
  };
  const and = (): SoqlCondition => {
    const parts = [not()];
    while (upper() === 'AND') {
      i += 1;
      parts.push(not());
    }
    return parts.length === 1 ? parts[0]! : { kind: 'and', parts };
  };
  const not = (): SoqlCondition => {
    if (upper() === 'NOT') {
      i += 1;
      return { kind: 'not', part: not() };
    }
    if (t[i] === '(') {
      i += 1;
      if (upper() === 'SELECT') throw new Error('semi-join subqueries are not supported by the stand-in');
      const inner = or();
      expect(')');
      return inner;
    }
    const field = t[i++]!;
    let op = upper();
    i += 1;
    if (op === 'NOT' && upper() === 'IN') {
      op = 'NOT IN';
      i += 1;
    }
    if (op === 'IN' || op === 'NOT IN') {
      expect('(');
      const values: Literal[] = [];
      while (t[i] !== ')') {
        if (t[i] === ',') i += 1;
        values.push(literalOf(t[i++]));
      }
      i += 1;
      return { kind: 'cmp', field, op, values };
    }
    if (op && ['=', '!=', '<>', '<', '<=', '>', '>=', 'LIKE'].includes(op))
      return { kind: 'cmp', field, op: op === '<>' ? '!=' : op, values: [literalOf(t[i++])] };
    throw new Error(`unsupported operator ${op}`);
  };
  let where: SoqlCondition | undefined;
  if (upper() === 'WHERE') {
    i += 1;
    where = or();
  }
  let orderBy: { field: string; desc: boolean } | undefined;
  if (upper() === 'ORDER') {
    i += 1;
    expect('BY');
    orderBy = { field: t[i++]!, desc: false };
    if (upper() === 'ASC' || upper() === 'DESC') orderBy.desc = t[i++]!.toUpperCase() === 'DESC';
  }
  let limit: number | undefined;
  if (upper() === 'LIMIT') {
    i += 1;
    limit = Number(t[i++]);
  }
  if (i !== t.length) throw new Error(`unexpected token ${t[i]}`);
  return { fields, type, where, orderBy, limit };
}

/** Whether a record's field values satisfy a condition (`value(field)` reads one). */
export function matchesSoql(cond: SoqlCondition | undefined, value: (field: string) => Literal): boolean {
  if (!cond) return true;
  if (cond.kind === 'and' || cond.kind === 'or')
    return cond.kind === 'and'
      ? cond.parts.every((p) => matchesSoql(p, value))
      : cond.parts.some((p) => matchesSoql(p, value));
  if (cond.kind === 'not') return !matchesSoql(cond.part, value);
  const v = value(cond.field);
  const w = cond.values[0] ?? null;
  switch (cond.op) {
    case '=':
      return v === w;
    case '!=':
      return v !== w;
    case 'IN':
      return cond.values.includes(v);
    case 'NOT IN':
      return !cond.values.includes(v);
    case 'LIKE': {
      if (typeof v !== 'string' || typeof w !== 'string') return false;
      const pattern = w
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replace(/%/g, '.*')
        .replace(/_/g, '.');
      return new RegExp(`^${pattern}$`, 'is').test(v);
    }
    default: {
      if (v === null || w === null || typeof v !== typeof w) return false;
      const [a, b] = [v as string | number, w as string | number];
      return cond.op === '<' ? a < b : cond.op === '<=' ? a <= b : cond.op === '>' ? a > b : a >= b;
    }
  }
}

/** Top-level ANDed conditions on `field` with = or IN: what ContentDocumentLink queries must filter by. */
function filtersBy(cond: SoqlCondition | undefined, fields: string[]): boolean {
  if (!cond) return false;
  if (cond.kind === 'and' || cond.kind === 'or')
    return cond.kind === 'and' && cond.parts.some((p) => filtersBy(p, fields));
  return (
    cond.kind === 'cmp' &&
    (cond.op === '=' || cond.op === 'IN') &&
    fields.some((f) => f.toLowerCase() === cond.field.toLowerCase())
  );
}

/**
 * VersionData as Salesforce sends it: the file's bytes (application/octet-stream),
 * written in 64 KB chunks as the client reads them. With `breakAfter`, the
 * connection drops after that many bytes (a download failing mid-stream).
 */
function streamContent(
  res: ServerResponse,
  content: Buffer,
  breakAfter: number | undefined,
  onBreak: () => void,
): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(content.length) });
  const end = breakAfter === undefined ? content.length : Math.min(breakAfter, content.length);
  let offset = 0;
  const write = () => {
    while (offset < end) {
      const chunk = content.subarray(offset, Math.min(end, offset + 64 * 1024));
      offset += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', write);
    }
    if (breakAfter === undefined) return void res.end();
    onBreak();
    // Let the bytes written so far leave, then cut the connection.
    setTimeout(() => res.socket?.destroy(), 20);
  };
  write();
}

export async function startFakeSalesforce(options: FakeSalesforceOptions = {}): Promise<FakeSalesforce> {
  const pageSize = options.pageSize ?? 2000;
  const tokens = new Set<string>();
  const records = new Map<string, SfRecord>();
  const events: FakeSalesforce['events'] = [];
  const eventUuids = new Map<string, string>();
  const tokenRequests: TokenRequest[] = [];
  const calls: SfCall[] = [];
  const failures: Array<{ method: string; prefix: string; failure: InjectedFailure; left: number }> = [];
  const cursors = new Map<string, { rest: unknown[]; totalSize: number }>();
  const contents = new Map<string, Buffer>();
  const brokenDownloads = new Map<string, number>();
  let counter = 0;
  let callOptions: string | undefined;
  let traceparent: string | undefined;

  const newId = (type: string) => {
    counter += 1;
    const prefix = type.endsWith('__e') ? 'e00' : (KEY_PREFIXES[type] ?? 'a0X');
    return `${prefix}${String(counter).padStart(15, '0')}`;
  };

  /** A new latest ContentVersion of a document (the earlier ones stop being latest). */
  const addVersion = (
    documentId: string,
    title: string,
    extension: string | undefined,
    content: Buffer,
    checksum?: string,
    createdDate?: string,
  ): string => {
    let number = 1;
    for (const r of records.values()) {
      if (r.attributes.type === 'ContentVersion' && r.ContentDocumentId === documentId) {
        r.IsLatest = false;
        number += 1;
      }
    }
    const id = newId('ContentVersion');
    records.set(id, {
      Id: id,
      ContentDocumentId: documentId,
      Title: title,
      PathOnClient: extension ? `${title}.${extension}` : title,
      FileExtension: extension ?? null,
      ContentSize: content.length,
      Checksum: checksum ?? createHash('md5').update(content).digest('hex'),
      VersionNumber: String(number),
      IsLatest: true,
      CreatedDate: createdDate ?? new Date().toISOString().replace('Z', '+0000'),
      attributes: { type: 'ContentVersion' },
    });
    contents.set(id, content);
    return id;
  };

  const servers: Server[] = [];
  const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) => {
    const server = createServer((req, res) => {
      handler(req, res).catch((err) =>
        send(res, errorAnswer(500, { errorCode: 'UNKNOWN_EXCEPTION', message: String(err) })),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  let loginUrl = '';
  let instanceUrl = '';

  // --- OAuth token endpoint (login server)
  function token(form: URLSearchParams, authorization: string | undefined, generic: boolean): Answer {
    const grantType = form.get('grant_type') ?? '';
    const refuse = (error: string, description: string, request: Omit<TokenRequest, 'ok'>): Answer => {
      tokenRequests.push({ ...request, ok: false });
      return { status: 400, body: { error, error_description: description } };
    };
    const issue = (request: Omit<TokenRequest, 'ok'>): Answer => {
      tokenRequests.push({ ...request, ok: true });
      const accessToken = `00DFAKE!${randomBytes(24).toString('base64url')}`;
      tokens.add(accessToken);
      return {
        status: 200,
        body: {
          access_token: accessToken,
          signature: randomBytes(32).toString('base64'),
          scope: 'api',
          instance_url: instanceUrl,
          id: `${loginUrl}/id/00DFAKE/005FAKE`,
          token_type: 'Bearer',
          issued_at: String(Date.now()),
        },
      };
    };
    if (grantType === 'client_credentials') {
      let clientId = form.get('client_id') ?? undefined;
      let clientSecret = form.get('client_secret') ?? undefined;
      if (generic) return refuse('invalid_grant', 'request not supported on this domain', { grantType, clientId });
      if (authorization?.startsWith('Basic ')) {
        // RFC 6749 §2.3.1: each part is form-urlencoded ("+" is a space).
        const decoded = Buffer.from(authorization.slice(6), 'base64').toString();
        const colon = decoded.indexOf(':');
        const formDecode = (v: string) => decodeURIComponent(v.replace(/\+/g, ' '));
        clientId = formDecode(decoded.slice(0, colon));
        clientSecret = formDecode(decoded.slice(colon + 1));
      }
      const ok = (options.clients ?? []).some((c) => c.clientId === clientId && c.clientSecret === clientSecret);
      return ok
        ? issue({ grantType, clientId })
        : refuse('invalid_client', 'invalid client credentials', { grantType, clientId });
    }
    if (grantType === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const parts = (form.get('assertion') ?? '').split('.');
      if (parts.length !== 3) return refuse('invalid_grant', 'invalid assertion', { grantType });
      let header: Record<string, unknown>;
      let claims: Record<string, unknown>;
      try {
        header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString());
        claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString());
      } catch {
        return refuse('invalid_grant', 'invalid assertion', { grantType });
      }
      const request = { grantType, clientId: String(claims.iss), jwt: { header, claims } };
      const app = (options.jwtApps ?? []).find((a) => a.clientId === claims.iss);
      if (!app) return refuse('invalid_client_id', 'client identifier invalid', request);
      if (header.alg !== 'RS256') return refuse('invalid_grant', 'invalid assertion algorithm', request);
      const signed = verify(
        'RSA-SHA256',
        Buffer.from(`${parts[0]}.${parts[1]}`),
        app.publicKeyPem,
        Buffer.from(parts[2]!, 'base64url'),
      );
      if (!signed) return refuse('invalid_grant', 'invalid assertion signature', request);
      if (claims.aud !== (options.jwtAudience ?? 'https://login.salesforce.com'))
        return refuse('invalid_grant', 'audience is invalid', request);
      const now = Math.floor(Date.now() / 1000);
      // exp must lie within 3 minutes of now.
      if (typeof claims.exp !== 'number' || claims.exp < now || claims.exp > now + 180)
        return refuse('invalid_grant', 'expired authorization code', request);
      if (!app.usernames.includes(String(claims.sub)))
        return refuse('invalid_grant', "user hasn't approved this consumer", request);
      return issue(request);
    }
    return refuse('unsupported_grant_type', 'grant type not supported', { grantType });
  }

  // --- REST API (instance server)
  const injected = (method: string, path: string): Answer | undefined => {
    const f = failures.find((x) => x.left > 0 && x.method === method && path.startsWith(x.prefix));
    if (!f) return undefined;
    f.left -= 1;
    return { status: f.failure.status, body: f.failure.errors, headers: f.failure.headers };
  };

  const missingRequired = (type: string, fields: Record<string, unknown>): Answer | undefined => {
    const missing = (options.requiredFields?.[type] ?? []).filter(
      (f) => fields[f] === undefined || fields[f] === null || fields[f] === '',
    );
    return missing.length > 0
      ? errorAnswer(400, {
          errorCode: 'REQUIRED_FIELD_MISSING',
          message: `Required fields are missing: [${missing.join(', ')}]`,
          fields: missing,
        })
      : undefined;
  };

  /** The key of `fields` that names `field` (Salesforce field names are case-insensitive). */
  const keyIn = (fields: Record<string, unknown>, field: string) =>
    Object.keys(fields).find((k) => k.toLowerCase() === field.toLowerCase());

  const asFields = (body: unknown): Record<string, unknown> | undefined =>
    body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;

  /** A field's canonical spelling on `type` (SOQL names are case-insensitive; answers use the field's own spelling). */
  const canonical = (type: string, name: string): string => {
    if (name.toLowerCase() === 'id') return 'Id';
    for (const r of records.values()) {
      if (r.attributes.type !== type) continue;
      const key = Object.keys(r).find((k) => k.toLowerCase() === name.toLowerCase());
      if (key) return key;
    }
    return name;
  };

  /** The value of a selected field: `Account.Name` becomes a nested parent record, or null without a parent. */
  const select = (version: string, record: SfRecord, fields: string[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {
      attributes: {
        type: record.attributes.type,
        url: `/services/data/v${version}/sobjects/${record.attributes.type}/${record.Id}`,
      },
    };
    for (const f of fields) {
      const dot = f.indexOf('.');
      if (dot < 0) {
        const name = canonical(record.attributes.type, f);
        out[name] = record[name] ?? null;
        continue;
      }
      // Account.Name -> AccountId; Parent__r.Name -> Parent__c
      const rel = f.slice(0, dot);
      const idField = canonical(record.attributes.type, /__r$/i.test(rel) ? rel.replace(/__r$/i, '__c') : `${rel}Id`);
      const relName = idField.endsWith('__c') ? idField.replace(/__c$/, '__r') : idField.replace(/Id$/, '');
      const parent = records.get(String(record[idField] ?? ''));
      if (!parent) {
        out[relName] = null;
        continue;
      }
      const nested = (out[relName] as Record<string, unknown> | null | undefined) ?? {
        attributes: {
          type: parent.attributes.type,
          url: `/services/data/v${version}/sobjects/${parent.attributes.type}/${parent.Id}`,
        },
      };
      const name = canonical(parent.attributes.type, f.slice(dot + 1));
      nested[name] = parent[name] ?? null;
      out[relName] = nested;
    }
    return out;
  };

  function query(version: string, q: string): Answer {
    let parsed: ReturnType<typeof parseSoql>;
    try {
      parsed = parseSoql(q);
    } catch (err) {
      return errorAnswer(400, { errorCode: 'MALFORMED_QUERY', message: `unexpected token: ${(err as Error).message}` });
    }
    const type =
      [...records.values()].map((r) => r.attributes.type).find((t) => t.toLowerCase() === parsed.type.toLowerCase()) ??
      parsed.type;
    if (type === 'ContentDocumentLink' && !filtersBy(parsed.where, ['ContentDocumentId', 'LinkedEntityId'])) {
      return errorAnswer(400, {
        errorCode: 'MALFORMED_QUERY',
        message:
          "Implementation restriction: ContentDocumentLink requires a filter by a single Id on ContentDocumentId or LinkedEntityId using the equals operator or multiple Id's using the IN operator.",
      });
    }
    let found = [...records.values()]
      .filter((r) => r.attributes.type === type)
      .filter((r) => matchesSoql(parsed.where, (f) => (r[canonical(type, f)] ?? null) as Literal));
    if (parsed.orderBy) {
      const key = canonical(type, parsed.orderBy.field);
      const sign = parsed.orderBy.desc ? -1 : 1;
      found = found.sort((a, b) =>
        String(a[key] ?? '') < String(b[key] ?? '') ? -sign : String(a[key] ?? '') > String(b[key] ?? '') ? sign : 0,
      );
    }
    const matches = found
      .slice(0, parsed.limit ?? Number.POSITIVE_INFINITY)
      .map((r) => select(version, r, parsed.fields));
    return page(version, matches, matches.length);
  }

  function page(version: string, rest: unknown[], totalSize: number): Answer {
    const records = rest.slice(0, pageSize);
    const remaining = rest.slice(pageSize);
    if (remaining.length === 0) return { status: 200, body: { totalSize, done: true, records } };
    const locator = `01gFAKE${randomBytes(4).toString('hex')}-${pageSize}`;
    cursors.set(locator, { rest: remaining, totalSize });
    return {
      status: 200,
      body: { totalSize, done: false, nextRecordsUrl: `/services/data/v${version}/query/${locator}`, records },
    };
  }

  /** One REST request (top-level or Composite subrequest), after authentication. */
  function rest(
    method: string,
    version: string,
    rawPath: string,
    search: URLSearchParams,
    body: unknown,
    accessToken: string | undefined,
    composite: boolean,
  ): Answer {
    const path = rawPath.replace(/\/+$/, '') || '/';
    calls.push({
      method,
      path,
      version,
      query: Object.fromEntries(search),
      body,
      accessToken,
      composite,
      callOptions,
      ...(traceparent !== undefined && { traceparent }),
    });
    const failure = injected(method, path);
    if (failure) return failure;
    const seg = path.split('/').filter(Boolean);
    if (seg[0] === 'sobjects' && seg[1]) {
      const type = seg[1];
      const fields = asFields(body);
      if (method === 'POST' && seg.length === 2) {
        if (!fields) return errorAnswer(400, { errorCode: 'JSON_PARSER_ERROR', message: 'Expected an object' });
        const id = newId(type);
        if (type.endsWith('__e')) {
          const uuid = randomUUID();
          events.push({ type, id, fields });
          eventUuids.set(id, uuid);
          // Published asynchronously: success, with the EventUuid in an OPERATION_ENQUEUED "error".
          return {
            status: 201,
            body: { id, success: true, errors: [{ statusCode: 'OPERATION_ENQUEUED', message: uuid, fields: [] }] },
          };
        }
        const missing = missingRequired(type, fields);
        if (missing) return missing;
        records.set(id, { ...fields, Id: id, attributes: { type } });
        return {
          status: 201,
          body: { id, success: true, errors: [] },
          headers: { Location: `/services/data/v${version}/sobjects/${type}/${id}` },
        };
      }
      if (method === 'PATCH' && seg.length === 3) {
        const record = records.get(seg[2]!);
        if (!record || record.attributes.type !== type) return errorAnswer(404, NOT_FOUND);
        if (!fields) return errorAnswer(400, { errorCode: 'JSON_PARSER_ERROR', message: 'Expected an object' });
        const named = keyIn(fields, 'Id');
        if (named)
          return errorAnswer(400, {
            errorCode: 'INVALID_FIELD',
            message: `The ${named} field should not be specified in the sobject data.`,
          });
        Object.assign(record, fields);
        return { status: 204 };
      }
      if (method === 'PATCH' && seg.length === 4) {
        const [field, value] = [seg[2]!, decodeURIComponent(seg[3]!)];
        if (!fields) return errorAnswer(400, { errorCode: 'JSON_PARSER_ERROR', message: 'Expected an object' });
        const named = keyIn(fields, 'Id') ?? keyIn(fields, field);
        if (named)
          return errorAnswer(400, {
            errorCode: 'INVALID_FIELD',
            message: `The ${named} field should not be specified in the sobject data.`,
          });
        const found = [...records.values()].filter((r) => r.attributes.type === type && String(r[field]) === value);
        if (found.length > 1)
          return { status: 300, body: found.map((r) => `/services/data/v${version}/sobjects/${type}/${r.Id}`) };
        if (found[0]) {
          Object.assign(found[0], fields);
          return { status: 200, body: { id: found[0].Id, success: true, errors: [], created: false } };
        }
        const record = { ...fields, [field]: value };
        const missing = missingRequired(type, record);
        if (missing) return missing;
        const id = newId(type);
        records.set(id, { ...record, Id: id, attributes: { type } });
        return {
          status: 201,
          body: { id, success: true, errors: [], created: true },
          headers: { Location: `/services/data/v${version}/sobjects/${type}/${id}` },
        };
      }
      if (method === 'DELETE' && seg.length === 3) {
        const record = records.get(seg[2]!);
        if (!record || record.attributes.type !== type)
          return errorAnswer(404, { errorCode: 'ENTITY_IS_DELETED', message: 'entity is deleted' });
        records.delete(record.Id);
        // Deleting a document deletes its versions (and their bytes) and its links.
        if (type === 'ContentDocument') {
          for (const r of [...records.values()]) {
            if (
              (r.attributes.type === 'ContentVersion' || r.attributes.type === 'ContentDocumentLink') &&
              r.ContentDocumentId === record.Id
            ) {
              records.delete(r.Id);
              contents.delete(r.Id);
            }
          }
        }
        return { status: 204 };
      }
      if (method === 'GET' && seg.length === 3) {
        const record = records.get(seg[2]!);
        return record && record.attributes.type === type ? { status: 200, body: record } : errorAnswer(404, NOT_FOUND);
      }
    }
    if (method === 'GET' && seg[0] === 'query' && seg.length === 1) return query(version, search.get('q') ?? '');
    if (method === 'GET' && seg[0] === 'query' && seg.length === 2) {
      const cursor = cursors.get(seg[1]!);
      if (!cursor) return errorAnswer(400, { errorCode: 'INVALID_QUERY_LOCATOR', message: 'invalid query locator' });
      cursors.delete(seg[1]!);
      return page(version, cursor.rest, cursor.totalSize);
    }
    if (method === 'POST' && path === '/composite' && !composite) return compositeRequest(body, accessToken);
    return errorAnswer(404, NOT_FOUND);
  }

  function compositeRequest(body: unknown, accessToken: string | undefined): Answer {
    const { allOrNone = false, compositeRequest: subs } = (asFields(body) ?? {}) as {
      allOrNone?: boolean;
      compositeRequest?: Array<Record<string, any>>;
    };
    if (!Array.isArray(subs) || subs.length === 0 || subs.length > 25)
      return errorAnswer(400, {
        errorCode: 'INVALID_INPUT',
        message: 'compositeRequest must hold 1 to 25 subrequests',
      });
    const snapshot = new Map([...records].map(([id, r]) => [id, structuredClone(r)]));
    const eventCount = events.length;
    const results: Record<string, unknown> = {};
    const resolveRefs = (value: unknown): unknown => {
      if (typeof value === 'string')
        return value.replace(/@\{(\w+)\.(\w+)\}/g, (_m, ref: string, field: string) =>
          String((results[ref] as Record<string, unknown> | undefined)?.[field] ?? ''),
        );
      if (Array.isArray(value)) return value.map(resolveRefs);
      if (value && typeof value === 'object')
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v)]));
      return value;
    };
    const responses: Array<{
      body: unknown;
      httpHeaders: Record<string, string>;
      httpStatusCode: number;
      referenceId: string;
    }> = [];
    let failedAt = -1;
    for (const [n, sub] of subs.entries()) {
      const url = new URL(String(resolveRefs(sub.url)), instanceUrl);
      const m = /^\/services\/data\/v(\d+\.\d)(\/.*)$/.exec(url.pathname);
      const answer = m
        ? rest(String(sub.method), m[1]!, m[2]!, url.searchParams, resolveRefs(sub.body), accessToken, true)
        : errorAnswer(404, NOT_FOUND);
      results[sub.referenceId] = answer.body;
      responses.push({
        body: answer.body ?? null,
        httpHeaders: answer.headers ?? {},
        httpStatusCode: answer.status,
        referenceId: String(sub.referenceId),
      });
      if (answer.status >= 400 && allOrNone) {
        failedAt = n;
        break;
      }
    }
    if (failedAt >= 0) {
      // Roll back, and report every other subrequest as halted.
      records.clear();
      for (const [id, r] of snapshot) records.set(id, r);
      // Events published immediately are out already; only "Publish After Commit" ones are withdrawn.
      const published = events.splice(eventCount).filter((e) => !(options.publishAfterCommit ?? []).includes(e.type));
      events.push(...published);
      const all = subs.map((sub, n) =>
        n === failedAt
          ? responses[n]!
          : { body: [HALTED], httpHeaders: {}, httpStatusCode: 400, referenceId: String(sub.referenceId) },
      );
      return { status: 200, body: { compositeResponse: all } };
    }
    return { status: 200, body: { compositeResponse: responses } };
  }

  const loginServer = (generic: boolean) => async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    if (req.method === 'POST' && url.pathname === '/services/oauth2/token')
      return send(res, token(new URLSearchParams(body), req.headers.authorization, generic));
    send(res, errorAnswer(404, NOT_FOUND));
  };
  loginUrl = await listen(loginServer(false));
  const genericLoginUrl = await listen(loginServer(true));
  const load = { latencyMs: 0, inFlight: 0, maxInFlight: 0 };
  instanceUrl = await listen(async (req, res) => {
    load.inFlight += 1;
    load.maxInFlight = Math.max(load.maxInFlight, load.inFlight);
    res.on('close', () => (load.inFlight -= 1));
    if (load.latencyMs > 0) await new Promise((r) => setTimeout(r, load.latencyMs));
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const text = await readBody(req);
    const m = /^\/services\/data\/v(\d+\.\d)(\/.*)$/.exec(url.pathname);
    if (!m) return send(res, errorAnswer(404, NOT_FOUND));
    const accessToken = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const download =
      req.method === 'GET' && tokens.has(accessToken ?? '')
        ? /^\/sobjects\/ContentVersion\/([A-Za-z0-9]+)\/VersionData$/.exec(m[2]!)
        : null;
    if (download) {
      calls.push({
        method: 'GET',
        path: m[2]!,
        version: m[1]!,
        query: {},
        body: undefined,
        accessToken,
        composite: false,
      });
      const failure = injected('GET', m[2]!);
      if (failure) return send(res, failure);
      const content = contents.get(download[1]!);
      if (!content) return send(res, errorAnswer(404, NOT_FOUND));
      return streamContent(res, content, brokenDownloads.get(download[1]!), () => brokenDownloads.delete(download[1]!));
    }
    callOptions = req.headers['sforce-call-options'] as string | undefined;
    traceparent = req.headers.traceparent as string | undefined;
    if (!accessToken || !tokens.has(accessToken)) {
      calls.push({
        method: req.method!,
        path: m[2]!,
        version: m[1]!,
        query: Object.fromEntries(url.searchParams),
        body: undefined,
        accessToken,
        composite: false,
      });
      return send(res, errorAnswer(401, { errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }));
    }
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return send(res, errorAnswer(400, { errorCode: 'JSON_PARSER_ERROR', message: 'Unexpected character' }));
    }
    send(res, rest(req.method!, m[1]!, m[2]!, url.searchParams, body, accessToken, false));
  });

  const api: FakeSalesforce = {
    loginUrl,
    genericLoginUrl,
    instanceUrl,
    tokenRequests,
    calls,
    events,
    eventUuids,
    records,
    seed(type, fields) {
      const id = newId(type);
      records.set(id, { ...fields, Id: id, attributes: { type } });
      return id;
    },
    contents,
    seedFile(file) {
      const ownerId = newId('User');
      records.set(ownerId, { Id: ownerId, Name: 'File Owner', attributes: { type: 'User' } });
      const documentId = newId('ContentDocument');
      records.set(documentId, {
        Id: documentId,
        Title: file.title,
        FileExtension: file.extension ?? null,
        OwnerId: ownerId,
        attributes: { type: 'ContentDocument' },
      });
      const versionId = addVersion(
        documentId,
        file.title,
        file.extension,
        file.content,
        file.checksum,
        file.createdDate,
      );
      for (const linked of [ownerId, ...(file.links ?? [])]) {
        const id = newId('ContentDocumentLink');
        records.set(id, {
          Id: id,
          ContentDocumentId: documentId,
          LinkedEntityId: linked,
          ShareType: linked === ownerId ? 'I' : 'V',
          Visibility: 'AllUsers',
          attributes: { type: 'ContentDocumentLink' },
        });
      }
      return { documentId, versionId };
    },
    seedVersion(documentId, content) {
      const doc = records.get(documentId);
      if (!doc) throw new Error(`no document ${documentId}`);
      return addVersion(documentId, String(doc.Title), (doc.FileExtension as string | null) ?? undefined, content);
    },
    failDownload(versionId, afterBytes) {
      brokenDownloads.set(versionId, afterBytes);
    },
    expireSessions: () => tokens.clear(),
    setLatency(ms) {
      load.latencyMs = ms;
    },
    get maxInFlight() {
      return load.maxInFlight;
    },
    fail(match, failure, times = 1) {
      const [method, prefix] = match.split(' ');
      failures.push({ method: method!, prefix: prefix!, failure, left: times });
    },
    reset() {
      tokenRequests.length = 0;
      calls.length = 0;
      failures.length = 0;
      events.length = 0;
      eventUuids.clear();
      records.clear();
      contents.clear();
      brokenDownloads.clear();
      tokens.clear();
      load.maxInFlight = load.inFlight;
      load.latencyMs = 0;
    },
    close: async () => {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    },
  };
  return api;
}
