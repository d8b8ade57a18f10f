import { operationOf } from '../common';
import { parseBody, send, toEnvelope } from '../upstream-http';
import { traceHeader, type CallRequest, type ResultEnvelope, type Wrapper, type WrapperDeps } from '../types';
import type { SlackConnector } from './schema';
import { RequestPreparationError, UpstreamError } from '../../shared/errors';

/**
 * Slack error strings that say "try again later" (https://api.slack.com/methods/chat.postMessage#errors).
 * Both spellings of the rate limit exist: `ratelimited` (HTTP 429, any method) and chat.postMessage's
 * own `rate_limited` ("Application has posted too many messages"), answered with HTTP 200.
 */
const TRANSIENT_SLACK_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

function asObject(payload: unknown): Record<string, unknown> {
  if (typeof payload === 'string') return { text: payload };
  return payload !== null && typeof payload === 'object' && !Array.isArray(payload)
    ? (payload as Record<string, unknown>)
    : {};
}

export const slackWrapper: Wrapper<SlackConnector> = {
  async call(request: CallRequest<SlackConnector>, deps: WrapperDeps): Promise<ResultEnvelope> {
    const { connector } = request;
    const op = operationOf(request);
    const message = asObject(request.payload);

    if (op.action === 'webhook') {
      const url = await deps.secrets.get(connector.connectorId, connector.webhookUrl!.secret);
      const response = await send(
        deps.fetch,
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...traceHeader(request) },
          body: JSON.stringify(message),
        },
        connector.timeoutMs,
      );
      // Webhooks answer the text "ok", or an error text (invalid_payload, no_text, channel_not_found...) with 4xx.
      return toEnvelope(response, connector.timeoutMs, parseBody);
    }

    const body = { ...(op.channel && { channel: op.channel }), ...message };
    if (!body.channel)
      throw new RequestPreparationError(
        'INVALID_PAYLOAD',
        'postMessage needs a "channel" (in the payload or the operation)',
      );
    const token = await deps.secrets.get(connector.connectorId, connector.botToken!.secret);
    const response = await send(
      deps.fetch,
      `${connector.baseUrl.replace(/\/+$/, '')}/chat.postMessage`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json; charset=utf-8',
          ...traceHeader(request),
        },
        body: JSON.stringify(body),
      },
      connector.timeoutMs,
    );
    const envelope = await toEnvelope(response, connector.timeoutMs, parseBody); // 429 with Retry-After is thrown here
    const data = envelope.data as { ok?: boolean; error?: string } | null;
    // The Web API answers 200 with "ok": false for errors.
    if (!data || data.ok !== true) {
      const error = data?.error ?? 'unexpected answer';
      throw new UpstreamError('UPSTREAM_SLACK_ERROR', `Slack refused the message: ${error}`, {
        statusCode: envelope.statusCode,
        transient: TRANSIENT_SLACK_ERRORS.has(error),
      });
    }
    return envelope;
  },
};
