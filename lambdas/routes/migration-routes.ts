import * as z from 'zod';
import { connectorIdSchema } from '../connectors/common';
import { canonicalWhere, MAX_WHERE_LENGTH } from '../connectors/salesforce/content-query';
import type { MigrationService } from '../files/migration';
import { json } from '../shared/responses';
import { validate, type Route } from './router';

export const createMigrationSchema = z
  .object({
    /** The salesforce connector (with fileLink) whose org's Files move. */
    connectorId: connectorIdSchema,
    /** A condition on ContentVersion (see connectors/salesforce/content-query.ts for what is allowed). */
    where: z.string().min(1).max(MAX_WHERE_LENGTH),
    /** List what would move (count, bytes, bytes freed) without copying or deleting anything. */
    dryRun: z.boolean().default(false),
    /** Delete each ContentDocument once its copy is verified and its link records exist. */
    deleteAfterCopy: z.boolean().default(false),
  })
  .strict();

export const migrationParams = z.object({ migrationId: z.string().min(1).max(128) }).strict();
export const migrationAuditQuerySchema = z
  .object({ limit: z.coerce.number().int().min(1).max(100).default(50), nextToken: z.string().max(256).optional() })
  .strict();

export function migrationRoutes(migrations: MigrationService): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/files/migrations',
      handler: async (req) => {
        const body = validate(createMigrationSchema, req.body, 'body');
        // Parsed and written back in canonical form: a condition outside the allowed subset is a 400 here, before anything is queued.
        const accepted = await migrations.submit({ ...body, where: canonicalWhere(body.where) });
        return json(202, accepted, { location: accepted.statusUrl });
      },
    },
    {
      method: 'GET',
      path: '/v1/files/migrations/{migrationId}',
      handler: async (req) =>
        json(200, await migrations.get(validate(migrationParams, req.params, 'path').migrationId)),
    },
    {
      method: 'GET',
      path: '/v1/files/migrations/{migrationId}/files',
      handler: async (req) => {
        const { migrationId } = validate(migrationParams, req.params, 'path');
        const q = validate(migrationAuditQuerySchema, req.query, 'query');
        return json(200, await migrations.audit(migrationId, q.limit, q.nextToken));
      },
    },
  ];
}
