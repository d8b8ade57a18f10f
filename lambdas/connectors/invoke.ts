import { connectorTargetUrls, type Connector } from './schema';
import { SecretSet } from './redaction';
import { checkTargetUrl, rulesFor } from './targets';
import type { SecretSource } from './secret-source';
import type { CallRequest, ResultEnvelope, Wrapper, WrapperDeps } from './types';

/**
 * The one way the worker calls an upstream: the job runner, the Salesforce
 * delivery and the file-link delivery all go through here, so no wrapper has
 * to remember what it guarantees:
 * - targets (when `deps.privateTargets` is set, as the worker sets it): the
 *   connector's URLs and every connection its HTTP opens are checked
 *   (targets.ts); a refused target throws TargetNotAllowedError, nothing sent;
 * - redaction: every secret `fn` resolves (and every derived credential it
 *   reports through `secretUsed`) is replaced by [REDACTED] in what it
 *   returns or throws.
 */
export async function redacting<T>(
  deps: WrapperDeps,
  connector: Connector,
  fn: (deps: WrapperDeps) => Promise<T>,
): Promise<T> {
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
  if (deps.privateTargets !== undefined) {
    const rules = rulesFor(deps.privateTargets, connector.network?.allowPrivate);
    for (const { path, url } of connectorTargetUrls(connector))
      checkTargetUrl(url, rules, `The ${path.join('.')} of connector "${connector.connectorId}",`);
    scoped.targets = rules;
    scoped.fetch = (url, init) => deps.fetch(url, { ...init, targets: rules });
  }
  try {
    return used.redactValue(await fn(scoped));
  } catch (err) {
    throw used.redactError(err);
  }
}

/** A wrapper's call, with the guarantees of redacting(). */
export function callWrapper<C extends Connector>(
  wrapper: Wrapper<C>,
  request: CallRequest<C>,
  deps: WrapperDeps,
): Promise<ResultEnvelope> {
  return redacting(deps, request.connector, (scoped) => wrapper.call(request, scoped));
}
