import type { Job } from '../../lambdas/domain/job';

/**
 * A job as the controller records it before its first run: QUEUED, no attempt yet,
 * created now unless `createdAt` is given (updatedAt the same), operation `op` and an
 * empty payload unless given.
 */
export function queuedJob(fields: Pick<Job, 'jobId' | 'connectorId'> & Partial<Job>): Job {
  const createdAt = fields.createdAt ?? new Date().toISOString();
  return {
    operation: 'op',
    status: 'QUEUED',
    attempts: 0,
    createdAt,
    updatedAt: createdAt,
    payload: {},
    ...fields,
  };
}
