import * as z from 'zod';
import { connectorIdSchema } from '../connectors/common';
import { MAX_PART_COUNT, type FileService } from '../files/file-service';
import { json } from '../shared/responses';
import { validate, type Route } from './router';

export const createFileSchema = z
  .object({
    fileName: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[^\x00-\x1f\x7f/\\]+$/, 'must be a file name without path separators or control characters'),
    contentType: z
      .string()
      .regex(/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/, 'must be a MIME type such as application/pdf')
      .max(255),
    size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    recordId: z.string().min(1).max(255).optional(),
    /** Shown with the file, e.g. in the Salesforce record-page component. */
    uploadedBy: z.string().min(1).max(255).optional(),
    /** Multipart: URLs for the first N parts only; POST /v1/files/{fileId}/parts hands out the rest. */
    partUrls: z.number().int().min(1).max(MAX_PART_COUNT).optional(),
    /** Create a link record in Salesforce on `recordId` once the file is AVAILABLE (docs/files.md). */
    link: z.object({ connectorId: connectorIdSchema }).strict().optional(),
  })
  .strict();

export const completeFileSchema = z
  .object({
    parts: z
      .array(
        z
          .object({ partNumber: z.number().int().min(1).max(MAX_PART_COUNT), etag: z.string().min(1).max(256) })
          .strict(),
      )
      .max(MAX_PART_COUNT)
      .optional(),
  })
  .strict();

export const refreshPartsSchema = z
  .object({ partNumbers: z.array(z.number().int().min(1).max(MAX_PART_COUNT)).min(1).max(MAX_PART_COUNT) })
  .strict();

export const listFilesQuerySchema = z
  .object({
    recordId: z.string().min(1).max(255),
    limit: z.coerce.number().int().min(1).max(100).default(50),
    nextToken: z.string().max(2048).optional(),
    order: z.enum(['oldest', 'newest']).default('oldest'),
  })
  .strict();

export const fileParams = z.object({ fileId: z.string().min(1).max(128) }).strict();

export function fileRoutes(files: FileService): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/files',
      handler: async (req) => json(201, await files.create(validate(createFileSchema, req.body, 'body'))),
    },
    {
      method: 'GET',
      path: '/v1/files',
      handler: async (req) => {
        const q = validate(listFilesQuerySchema, req.query, 'query');
        return json(200, await files.listByRecord(q.recordId, q.limit, q.nextToken, q.order));
      },
    },
    {
      method: 'GET',
      path: '/v1/files/{fileId}',
      handler: async (req) => json(200, await files.get(validate(fileParams, req.params, 'path').fileId)),
    },
    {
      method: 'DELETE',
      path: '/v1/files/{fileId}',
      handler: async (req) => {
        await files.delete(validate(fileParams, req.params, 'path').fileId);
        return { statusCode: 204, headers: {}, body: '' };
      },
    },
    {
      method: 'POST',
      path: '/v1/files/{fileId}/complete',
      handler: async (req) => {
        const { fileId } = validate(fileParams, req.params, 'path');
        const body = validate(completeFileSchema, req.body ?? {}, 'body');
        return json(200, await files.complete(fileId, body.parts));
      },
    },
    {
      method: 'POST',
      path: '/v1/files/{fileId}/parts',
      handler: async (req) => {
        const { fileId } = validate(fileParams, req.params, 'path');
        return json(
          200,
          await files.refreshPartUrls(fileId, validate(refreshPartsSchema, req.body, 'body').partNumbers),
        );
      },
    },
  ];
}
