import * as z from 'zod';
import { connectorIdSchema, operationNameSchema } from '../connectors/common';
import type { CalloutService, SubmitResult } from '../domain/callout-service';
import { json } from '../shared/responses';
import { validate, type Route } from './router';

export const calloutBodySchema = z
  .object({
    // Any JSON value; the body was parsed from JSON, so only presence is checked.
    payload: z.unknown().refine((v) => v !== undefined, 'is required (send null when the operation takes none)'),
    recordId: z.string().min(1).max(255).optional(),
  })
  .strict();

export const calloutParamsSchema = z
  .object({ connectorId: connectorIdSchema, operation: operationNameSchema })
  .strict();
export const jobParamsSchema = z.object({ jobId: z.string().min(1).max(128) }).strict();
export const jobStatusSchema = z.enum(['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED']);
export const listJobsQuerySchema = z
  .object({
    connectorId: connectorIdSchema.optional(),
    status: jobStatusSchema.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(50),
    nextToken: z.string().max(2048).optional(),
  })
  .strict()
  .refine((q) => q.connectorId !== undefined || q.status !== undefined, 'give connectorId, status or both');
export const headerValue = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be 1-255 visible ASCII characters');

/** 202 for a queued job: where to read it, in the body and in Location (`created` stays internal). */
function queued(job: SubmitResult) {
  return json(202, { jobId: job.jobId, status: job.status, statusUrl: job.statusUrl }, { location: job.statusUrl });
}

export function calloutRoutes(service: CalloutService): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/health',
      handler: async () => json(200, { status: 'ok' }),
    },
    {
      method: 'POST',
      path: '/v1/callouts/{connectorId}/{operation}',
      handler: async (req) => {
        const params = validate(calloutParamsSchema, req.params, 'path');
        const body = validate(calloutBodySchema, req.body, 'body');
        const idempotencyKey = req.headers['idempotency-key'];
        const correlationId = req.headers['x-correlation-id'];
        const accepted = await service.submit({
          ...params,
          payload: body.payload,
          recordId: body.recordId,
          idempotencyKey:
            idempotencyKey === undefined ? undefined : validate(headerValue, idempotencyKey, 'Idempotency-Key header'),
          correlationId:
            correlationId === undefined ? undefined : validate(headerValue, correlationId, 'X-Correlation-Id header'),
          traceparent: req.headers['traceparent'],
        });
        return queued(accepted);
      },
    },
    {
      method: 'GET',
      path: '/v1/jobs',
      handler: async (req) => json(200, await service.listJobs(validate(listJobsQuerySchema, req.query, 'query'))),
    },
    {
      method: 'POST',
      path: '/v1/jobs/{jobId}/retry',
      handler: async (req) => {
        const { jobId } = validate(jobParamsSchema, req.params, 'path');
        return queued(await service.retryJob(jobId));
      },
    },
    {
      method: 'GET',
      path: '/v1/jobs/{jobId}',
      handler: async (req) => {
        const { jobId } = validate(jobParamsSchema, req.params, 'path');
        return json(200, await service.getJob(jobId));
      },
    },
  ];
}
