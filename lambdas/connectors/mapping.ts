import { search } from '@aws-lambda-powertools/jmespath';
import * as z from 'zod';
import { RequestPreparationError, UpstreamError } from '../shared/errors';
import { lazyObject } from '../shared/lazy';

const SYNTAX_ERRORS = new Set([
  'LexerError',
  'ParseError',
  'IncompleteExpressionError',
  'EmptyExpressionError',
  'UnknownFunctionError',
  'ArityError',
  'VariadicArityError',
]);

/**
 * A JMESPath expression, checked when the row is validated: a typo fails
 * `connectors validate`, not a job at 3 a.m. (Evaluating against {} parses the
 * expression; only syntax errors count, since real data is not there yet.)
 */
export const jmespathSchema = lazyObject(() =>
  z
    .string()
    .min(1)
    .max(4096)
    .superRefine((expression, ctx) => {
      try {
        search(expression, {});
      } catch (err) {
        if (err instanceof Error && SYNTAX_ERRORS.has(err.name))
          ctx.addIssue({ code: 'custom', message: `is not a valid JMESPath expression: ${err.message}` });
      }
    }),
);

function evaluate(expression: string, data: unknown): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: search(expression, data as never) };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/** Builds the outgoing request from `{payload, recordId}`; no call is made if it fails. */
export function mapRequest(expression: string, input: { payload: unknown; recordId?: string }): unknown {
  const r = evaluate(expression, { payload: input.payload ?? null, recordId: input.recordId ?? null });
  if (!r.ok) throw new RequestPreparationError('MAPPING_FAILED', `Request mapping "${expression}" failed: ${r.reason}`);
  return r.value;
}

/** Picks and renames fields of the service's answer into `data`. The call was made, but repeating it would not help. */
export function mapResponse(expression: string, body: unknown): unknown {
  const r = evaluate(expression, body);
  if (!r.ok)
    throw new UpstreamError('MAPPING_FAILED', `Response mapping "${expression}" failed: ${r.reason}`, {
      transient: false,
    });
  return r.value;
}
