import type { Delivery } from '../connectors/common';
import type { Job } from './job';
import type { RetrySettings } from './retry-policy';

// The port the job runner delivers outcomes through; lambdas/delivery implements it, so the arrow runs delivery -> domain.

/** One delivery, ready to send: the target's retry settings for the retry policy, and the send itself. */
export interface PreparedDelivery {
  retry: RetrySettings;
  timeoutMs: number;
  send(job: Job): Promise<void>;
}

/** What the job runner needs from a delivery mechanism. */
export interface OutcomeDelivery {
  /** Throws RequestPreparationError when the target connector cannot be used (missing, disabled, not Salesforce). */
  prepare(delivery: Delivery): Promise<PreparedDelivery>;
}
