import type { ResultEnvelope, Wrapper } from '../../lambdas/connectors/types';

/** A wrapper that plays a script: call n throws or returns step n (the last step repeats); `calls` keeps each payload. */
export function scripted(steps: Array<Error | ResultEnvelope>) {
  const calls: unknown[] = [];
  const wrapper: Wrapper = {
    async call(request) {
      calls.push(request.payload);
      const step = steps[Math.min(calls.length - 1, steps.length - 1)]!;
      if (step instanceof Error) throw step;
      return step;
    },
  };
  return { wrapper, calls };
}
