import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Connection } from 'jsforce/core';
import { TargetNotAllowedError, UpstreamError, UpstreamNetworkError, UpstreamTimeoutError } from '../../shared/errors';
import { redacting } from '../invoke';
import { parseJson } from '../json';
import { checkTargetUrl, guardedLookup, type TargetRules } from '../targets';
import type { WrapperDeps } from '../types';
import { errorItems, salesforceApiError, withSalesforce } from './client';
import { contentDocumentLinkQuery, contentVersionQuery, isRecordLink, latestVersionQuery } from './content-query';
import type { SalesforceConnector } from './schema';
import { sessionCache, type SessionCache } from './session';

interface QueryAnswer<T> {
  records: T[];
  done: boolean;
  nextRecordsUrl?: string;
}

const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
/** Error bodies are read up to this much (a file body is never read here). */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * Opens `GET .../sobjects/ContentVersion/{id}/VersionData` as a stream. The
 * worker's fetch reads whole answers, which a file of gigabytes must never
 * be, so this is one plain node:http(s) request with the same guarantees: the
 * target rules checked for the URL and every address its name resolves to,
 * and the connector's timeout as an idle limit (a body that stops arriving fails).
 */
function openStream(
  url: string,
  accessToken: string,
  targets: TargetRules | undefined,
  timeoutMs: number,
): Promise<IncomingMessage> {
  if (targets) checkTargetUrl(url, targets, 'The Salesforce instance URL');
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = (target.protocol === 'https:' ? https : http).request(target, {
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}`, accept: '*/*', 'sforce-call-options': 'client=crm-bridge' },
      timeout: timeoutMs,
      ...(targets && { lookup: guardedLookup(targets) }),
    });
    req.on('timeout', () => req.destroy(new UpstreamTimeoutError(timeoutMs)));
    req.on('error', (err) => {
      if (err instanceof UpstreamError) return reject(err);
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof TargetNotAllowedError) return reject(cause);
      reject(new UpstreamNetworkError(`Could not reach ${target.origin}: ${err.message}`, err));
    });
    req.on('response', resolve);
    req.end();
  });
}

async function errorBody(res: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > MAX_ERROR_BODY) break;
    chunks.push(chunk as Buffer);
  }
  res.destroy();
  const body = Buffer.concat(chunks).toString('utf8');
  try {
    return parseJson(body);
  } catch {
    return body;
  }
}

/**
 * Salesforce Files of one `salesforce` connector, for the Files migration
 * (lambdas/files/migration.ts ContentSource): every call through the
 * connector's cached session (one re-login on INVALID_SESSION_ID), with the
 * target checks and secret redaction of every other Salesforce call (invoke.ts).
 */
export class SalesforceContent {
  constructor(
    private readonly connector: SalesforceConnector,
    private readonly deps: WrapperDeps,
    private readonly sessions: SessionCache = sessionCache,
  ) {}

  private async call<T>(fn: (conn: Connection, deps: WrapperDeps) => Promise<T>): Promise<T> {
    return redacting(
      this.deps,
      this.connector,
      async (scoped) => (await withSalesforce(this.connector, scoped, (conn) => fn(conn, scoped), this.sessions)).value,
    );
  }

  private async queryAll<T>(soql: string): Promise<T[]> {
    return this.call(async (conn) => {
      let page = (await conn.query(soql)) as unknown as QueryAnswer<T>;
      const records = [...page.records];
      while (!page.done && page.nextRecordsUrl) {
        page = (await conn.queryMore(page.nextRecordsUrl)) as unknown as QueryAnswer<T>;
        records.push(...page.records);
      }
      return records;
    });
  }

  /** The latest versions (what the worker's ContentSource port expects: lambdas/files/migration.ts ContentVersionInfo). */
  async listVersions(where: string, afterId: string | undefined, limit: number) {
    const rows = await this.queryAll<Record<string, unknown>>(contentVersionQuery(where, afterId, limit));
    return rows.map((r) => ({
      id: String(r.Id),
      documentId: String(r.ContentDocumentId),
      title: text(r.Title) ?? '',
      ...(text(r.PathOnClient) && { pathOnClient: text(r.PathOnClient) }),
      ...(text(r.FileExtension) && { fileExtension: text(r.FileExtension) }),
      size: Number(r.ContentSize ?? 0),
      ...(text(r.Checksum) && { checksum: text(r.Checksum) }),
      ...(text(r.CreatedDate) && { createdDate: text(r.CreatedDate) }),
    }));
  }

  async recordLinks(documentIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(documentIds.map((id) => [id, []]));
    if (documentIds.length === 0) return out;
    const links = await this.queryAll<{ ContentDocumentId: string; LinkedEntityId: string }>(
      contentDocumentLinkQuery(documentIds),
    );
    for (const l of links) {
      const list = out.get(l.ContentDocumentId);
      if (list && isRecordLink(l.LinkedEntityId) && !list.includes(l.LinkedEntityId)) list.push(l.LinkedEntityId);
    }
    return out;
  }

  async latestVersionId(documentId: string): Promise<string | undefined> {
    const rows = await this.queryAll<{ Id: string }>(latestVersionQuery(documentId));
    return rows[0]?.Id;
  }

  async deleteDocument(documentId: string): Promise<void> {
    try {
      await this.call((conn) => conn.sobject('ContentDocument').destroy(documentId));
    } catch (err) {
      // Deleted already (by an earlier attempt whose answer was lost, or by a user): the outcome wanted.
      if (err instanceof UpstreamError && err.statusCode === 404) return;
      throw err;
    }
  }

  async openVersionData(versionId: string): Promise<AsyncIterable<Uint8Array>> {
    let body: IncomingMessage | undefined;
    // The stream leaves redacting() through this variable: its return value is copied for redaction.
    await this.call(async (conn, scoped) => {
      const url = `${conn.instanceUrl}/services/data/v${conn.version}/sobjects/ContentVersion/${encodeURIComponent(versionId)}/VersionData`;
      const res = await openStream(url, conn.accessToken!, scoped.targets, this.connector.timeoutMs);
      if (res.statusCode === 200) {
        body = res;
        return;
      }
      const answer = await errorBody(res);
      // jsforce's own shape: withSalesforce logs in again once and repeats the call.
      if (res.statusCode === 401)
        throw Object.assign(new Error('INVALID_SESSION_ID'), { errorCode: 'INVALID_SESSION_ID' });
      const items = errorItems(answer);
      throw salesforceApiError(
        items.length
          ? items
          : [{ errorCode: 'HTTP_' + res.statusCode, message: typeof answer === 'string' ? answer.slice(0, 300) : '' }],
        res.statusCode,
      );
    });
    return body!;
  }
}
