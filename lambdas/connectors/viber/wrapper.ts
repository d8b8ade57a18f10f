import { ownEntry } from '../common';
import { RequestPreparationError, UpstreamError } from '../errors';
import { parseBody, send, toEnvelope } from '../http';
import type { CallRequest, ResultEnvelope, Wrapper, WrapperDeps } from '../types';
import type { ViberConnector } from './schema';

/** Viber status 12 is "too many requests"; the others need a different request or setup. */
const TRANSIENT_VIBER_STATUS = new Set([12]);

export const viberWrapper: Wrapper<ViberConnector> = {
  async call(request: CallRequest<ViberConnector>, deps: WrapperDeps): Promise<ResultEnvelope> {
    const { connector, operationName } = request;
    if (!ownEntry(connector.operations, operationName)) throw new RequestPreparationError('OPERATION_NOT_FOUND', `Connector "${connector.connectorId}" has no operation "${operationName}"`);
    const payload = request.payload !== null && typeof request.payload === 'object' && !Array.isArray(request.payload) ? (request.payload as Record<string, unknown>) : {};
    if (typeof payload.receiver !== 'string') throw new RequestPreparationError('INVALID_PAYLOAD', 'sendMessage needs a "receiver" (the Viber user id) in the payload');
    const body = { type: 'text', sender: connector.sender, ...payload };
    const token = await deps.secrets.get(connector.connectorId, connector.authToken.secret);
    const response = await send(
      deps.fetch,
      `${connector.baseUrl.replace(/\/+$/, '')}/send_message`,
      { method: 'POST', headers: { 'x-viber-auth-token': token, 'content-type': 'application/json' }, body: JSON.stringify(body) },
      connector.timeoutMs,
    );
    const envelope = await toEnvelope(response, connector.timeoutMs, parseBody);
    const data = envelope.data as { status?: number; status_message?: string } | null;
    // The Bot API answers 200 with a non-zero status for errors.
    if (!data || data.status !== 0) {
      const status = data?.status ?? -1;
      throw new UpstreamError('UPSTREAM_VIBER_ERROR', `Viber refused the message: status ${status} (${data?.status_message ?? 'unexpected answer'})`, {
        statusCode: envelope.statusCode,
        transient: TRANSIENT_VIBER_STATUS.has(status),
      });
    }
    return envelope;
  },
};
