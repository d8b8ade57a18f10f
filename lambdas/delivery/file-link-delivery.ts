import { redacting } from '../connectors/invoke';
import { withSalesforce } from '../connectors/salesforce/client';
import type { FileLinkSpec, SalesforceConnector } from '../connectors/salesforce/schema';
import { sessionCache, type SessionCache } from '../connectors/salesforce/session';
import type { WrapperDeps } from '../connectors/types';
import type { ConnectorSource } from '../domain/connector-source';
import { toJobError } from '../domain/job';
import type { FileLinkMessage } from '../domain/job-queue';
import type { QueueRecord } from '../domain/queue-record';
import { RetryDriver, type RetryDriverOptions } from '../domain/retry-driver';
import { fileLinkContext, type FileLink, type FileLinkStore, type LinkedFile } from '../files/file-link';
import { AppError, RequestPreparationError, UpstreamError } from '../shared/errors';
import { mapFields, salesforceTarget } from './salesforce-delivery';

/** A custom object's Name (Text) holds at most 80 characters. */
export const MAX_NAME_LENGTH = 80;

/** Cuts to `max` UTF-16 units (what Salesforce counts) without splitting a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max;
  return text.slice(0, end);
}

/**
 * The link record's fields: the spec's mappings over `{file}`, with `Name` cut
 * to 80 characters and the external id field left out (it is the upsert's key,
 * sent in the URL as the fileId).
 */
export function fileLinkFields(file: LinkedFile, spec: FileLinkSpec): Record<string, string | number | boolean | null> {
  const { [spec.externalIdField]: _key, ...fields } = mapFields(spec.fields, fileLinkContext(file));
  if (typeof fields.Name === 'string') fields.Name = cut(fields.Name, MAX_NAME_LENGTH);
  return fields;
}

interface Logger {
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
}

/** The retry driver's options (queue, inline wait limit, sleep, random) and what a link needs. */
export interface FileLinkRunnerOptions extends RetryDriverOptions {
  files: FileLinkStore;
  connectors: ConnectorSource;
  wrapperDeps: WrapperDeps;
  logger: Logger;
  sessions?: SessionCache;
}

/**
 * Creates a file's link record in Salesforce (the `fileLink` of its connector),
 * as job outcomes are delivered: upserted by the external id field = fileId (a
 * retry after a lost answer finds the same record), through the connector's
 * cached session (one re-login on INVALID_SESSION_ID), retried with the
 * connector's `retry` settings and the one retry policy — short waits inline,
 * longer ones by handing the message back to SQS.
 */
export class FileLinkRunner {
  private readonly retries: RetryDriver;

  constructor(private readonly opts: FileLinkRunnerOptions) {
    this.retries = new RetryDriver(opts);
  }

  async process(
    message: FileLinkMessage,
    record: QueueRecord,
    remainingTimeMs: () => number = () => Number.POSITIVE_INFINITY,
  ): Promise<void> {
    const { files, logger } = this.opts;
    const { fileId } = message;
    const file = await files.get(fileId);
    if (!file) {
      logger.info('file was deleted before its link was created; nothing to do', { fileId });
      return;
    }
    const link = file.link;
    if (!link || link.status !== 'PENDING' || file.status !== 'AVAILABLE') {
      // Already delivered or failed (a redelivered message), or nothing to link.
      logger.info('file link is not pending; dropping the message', {
        fileId,
        fileStatus: file.status,
        linkStatus: link?.status,
      });
      return;
    }

    const { nextAttemptAt: _next, ...base } = link;
    let target: { connector: SalesforceConnector; spec: FileLinkSpec };
    let fields: Record<string, unknown>;
    try {
      target = await this.target(link.connectorId);
      fields = fileLinkFields(file, target.spec);
    } catch (err) {
      if (!(err instanceof AppError) && !(err instanceof UpstreamError) && !(err instanceof RequestPreparationError))
        throw err; // a DynamoDB failure: SQS redelivers
      return this.record(fileId, { ...base, status: 'FAILED', error: toJobError(err) }, 'failed');
    }
    const { connector, spec } = target;

    const outcome = await this.retries.run(
      {
        label: `File ${fileId}: link attempt`,
        attempts: link.attempts,
        retry: connector.retry,
        timeoutMs: connector.timeoutMs,
        attempt: async () =>
          (
            await redacting(this.opts.wrapperDeps, connector, (deps) =>
              withSalesforce(
                connector,
                deps,
                // jsforce puts the external id into the URL path as is, and leaves it out of the body.
                (conn) =>
                  conn
                    .sobject(spec.sobject)
                    .upsert({ ...fields, [spec.externalIdField]: encodeURIComponent(fileId) }, spec.externalIdField),
                this.opts.sessions ?? sessionCache,
              ),
            )
          ).value as unknown,
        deferring: async ({ attempts, error, delayMs }) => {
          const waiting: FileLink = {
            ...base,
            status: 'PENDING',
            attempts,
            error,
            nextAttemptAt: new Date(Date.now() + delayMs).toISOString(),
          };
          if (await this.opts.files.setLink(fileId, waiting)) return true;
          logger.info('file was deleted while its link was being created; dropping the link', { fileId });
          return false;
        },
      },
      record,
      remainingTimeMs,
    );
    if (outcome.kind === 'stopped') return;
    if (outcome.kind === 'failed') {
      const { attempts, error } = outcome;
      logger.warn('file link failed', { fileId, attempts, code: error.code, statusCode: error.statusCode });
      return this.record(fileId, { ...base, status: 'FAILED', attempts, error }, 'failed');
    }
    const id = (outcome.value as { id?: unknown } | undefined)?.id;
    const delivered: FileLink = {
      connectorId: link.connectorId,
      status: 'DELIVERED',
      attempts: outcome.attempts,
      ...(typeof id === 'string' && { salesforceId: id }),
      deliveredAt: new Date().toISOString(),
    };
    return this.record(fileId, delivered, 'delivered');
  }

  /** The link's connector and its fileLink, or a preparation error naming what is wrong. */
  private async target(connectorId: string): Promise<{ connector: SalesforceConnector; spec: FileLinkSpec }> {
    const sf = await salesforceTarget(this.opts.connectors, connectorId, 'file link');
    if (!sf.fileLink)
      throw new RequestPreparationError(
        'FILE_LINK_NOT_CONFIGURED',
        `Salesforce connector "${connectorId}" no longer declares "fileLink"`,
      );
    return { connector: sf, spec: sf.fileLink };
  }

  private async record(fileId: string, link: FileLink, what: string): Promise<void> {
    if (!(await this.opts.files.setLink(fileId, link))) {
      this.opts.logger.info(`file was deleted while its link was being created; the link ${what} is not recorded`, {
        fileId,
      });
    }
  }
}
