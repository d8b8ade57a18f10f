import { operationOf } from '../common';
import { parseBody, send, toEnvelope } from '../upstream-http';
import { traceHeader, type CallRequest, type ResultEnvelope, type Wrapper, type WrapperDeps } from '../types';
import { formatIssues } from '../schema';
import { VIBER_TEXT_MAX, viberSenderSchema, type ViberConnector } from './schema';
import { RequestPreparationError, UpstreamError } from '../../shared/errors';

/** Viber status 12 is "too many requests"; the others need a different request or setup. */
const TRANSIENT_VIBER_STATUS = new Set([12]);

/** The connector's sender, with a payload `sender`'s fields over it: checked, so that a payload cannot send a name Viber refuses (or any other field). */
function senderOf(connector: ViberConnector, override: unknown): ViberConnector['sender'] {
  if (override === undefined) return connector.sender;
  const parsed = viberSenderSchema.partial().safeParse(override);
  if (!parsed.success)
    throw new RequestPreparationError(
      'INVALID_PAYLOAD',
      `Invalid "sender" in the payload: ${formatIssues(parsed.error).join('; ')}`,
    );
  return { ...connector.sender, ...parsed.data };
}

/** Viber refuses a text message without text or with more than 7,000 characters: fail before the call. */
function checkText(body: Record<string, unknown>): void {
  if (body.type !== 'text') return;
  if (typeof body.text !== 'string' || body.text === '')
    throw new RequestPreparationError('INVALID_PAYLOAD', 'A Viber text message needs a non-empty "text"');
  const length = [...body.text].length;
  if (length > VIBER_TEXT_MAX)
    throw new RequestPreparationError(
      'INVALID_PAYLOAD',
      `"text" has ${length} characters; Viber accepts at most ${VIBER_TEXT_MAX}`,
    );
}

export const viberWrapper: Wrapper<ViberConnector> = {
  async call(request: CallRequest<ViberConnector>, deps: WrapperDeps): Promise<ResultEnvelope> {
    const { connector } = request;
    operationOf(request);
    const payload =
      request.payload !== null && typeof request.payload === 'object' && !Array.isArray(request.payload)
        ? (request.payload as Record<string, unknown>)
        : {};
    if (typeof payload.receiver !== 'string')
      throw new RequestPreparationError(
        'INVALID_PAYLOAD',
        'sendMessage needs a "receiver" (the Viber user id) in the payload',
      );
    const body = { type: 'text', ...payload, sender: senderOf(connector, payload.sender) };
    checkText(body);
    const token = await deps.secrets.get(connector.connectorId, connector.authToken.secret);
    const response = await send(
      deps.fetch,
      `${connector.baseUrl.replace(/\/+$/, '')}/send_message`,
      {
        method: 'POST',
        headers: { 'x-viber-auth-token': token, 'content-type': 'application/json', ...traceHeader(request) },
        body: JSON.stringify(body),
      },
      connector.timeoutMs,
    );
    const envelope = await toEnvelope(response, connector.timeoutMs, parseBody);
    const data = envelope.data as { status?: number; status_message?: string } | null;
    // The Bot API answers 200 with a non-zero status for errors.
    if (!data || data.status !== 0) {
      const status = data?.status ?? -1;
      throw new UpstreamError(
        'UPSTREAM_VIBER_ERROR',
        `Viber refused the message: status ${status} (${data?.status_message ?? 'unexpected answer'})`,
        {
          statusCode: envelope.statusCode,
          transient: TRANSIENT_VIBER_STATUS.has(status),
        },
      );
    }
    return envelope;
  },
};
