import type { Connector } from './schema';
import { SecretSet } from './redaction';
import type { CallRequest, ResultEnvelope, SecretSource, Wrapper, WrapperDeps } from './types';

/**
 * Runs `fn` with deps that record every secret it resolves (and every derived
 * credential it reports through `secretUsed`), then redacts them from what it
 * returns or throws. The one redaction step: the job runner, the Salesforce
 * delivery and the file-link delivery all call upstreams through here, so no
 * wrapper has to remember it.
 */
export async function redacting<T>(deps: WrapperDeps, fn: (deps: WrapperDeps) => Promise<T>): Promise<T> {
  const used = new SecretSet();
  const secrets: SecretSource = {
    async get(connectorId, name) {
      const value = await deps.secrets.get(connectorId, name);
      used.add(value);
      return value;
    },
  };
  const scoped: WrapperDeps = {
    ...deps,
    secrets,
    secretUsed: (value) => {
      used.add(value);
      deps.secretUsed?.(value);
    },
  };
  try {
    return used.redactValue(await fn(scoped));
  } catch (err) {
    throw used.redactError(err);
  }
}

/** A wrapper's call, its outcome redacted (see redacting). */
export function callWrapper<C extends Connector>(wrapper: Wrapper<C>, request: CallRequest<C>, deps: WrapperDeps): Promise<ResultEnvelope> {
  return redacting(deps, (scoped) => wrapper.call(request, scoped));
}
