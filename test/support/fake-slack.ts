import { startFakeUpstream, type FakeAnswer, type FakeUpstream, type RecordedCall } from '../../local/fake-upstream';

/**
 * Slack's chat.postMessage and an incoming webhook on 127.0.0.1, answering as documented:
 * - chat.postMessage (https://api.slack.com/methods/chat.postMessage, "Example response"
 *   and "Errors"): HTTP 200 with `ok`; on success the channel's ID (also when it was
 *   named, e.g. "#general"), `ts` and the posted `message`; on failure `ok: false`
 *   and an error string (channel_not_found, is_archived, no_text, invalid_auth,
 *   not_authed, and `rate_limited` "Application has posted too many messages").
 * - Rate limits (https://api.slack.com/apis/rate-limits): HTTP 429 with Retry-After
 *   (seconds) and `{"ok": false, "error": "ratelimited"}`.
 * - Incoming webhooks (https://api.slack.com/messaging/webhooks#handling_errors, and the
 *   changelog https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks):
 *   the text "ok" on success; errors as plain text with their statuses: 400
 *   invalid_payload / no_text, 403 action_prohibited, 404 channel_not_found,
 *   410 channel_is_archived.
 */
export interface FakeSlack extends Pick<FakeUpstream, 'url' | 'close' | 'reset'> {
  /** Web API base URL (`baseUrl` of a connector). */
  apiUrl: string;
  /** The incoming webhook's URL (the secret of a connector). */
  webhookUrl: string;
  postMessageCalls(): RecordedCall[];
  webhookCalls(): RecordedCall[];
  /** The next chat.postMessage gets this answer once (see rateLimited, apiError). */
  failNext(answer: FakeAnswer): void;
  /** What happened to the webhook's channel: its posts then fail as Slack documents. */
  webhookChannel: 'active' | 'archived' | 'deleted' | 'prohibited';
}

/** HTTP 200, `ok: false`: how the Web API reports a method's errors. */
export const apiError = (error: string): FakeAnswer => ({ json: { ok: false, error } });
/** HTTP 429 with Retry-After, for any Web API method past its tier's limit. */
export const rateLimited = (retryAfterSeconds: number): FakeAnswer => ({
  status: 429,
  headers: { 'retry-after': String(retryAfterSeconds) },
  json: { ok: false, error: 'ratelimited' },
});

const WEBHOOK_PATH = '/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX';
const webhookError = (status: number, text: string): FakeAnswer => ({ status, text });

export async function startFakeSlack(opts: {
  botToken: string;
  channels: Record<string, string>;
  archived?: string[];
}): Promise<FakeSlack> {
  const upstream = await startFakeUpstream();
  const failures: FakeAnswer[] = [];
  let seq = 0;
  const state = { webhookChannel: 'active' as FakeSlack['webhookChannel'] };
  const channelId = (channel: string) => {
    const name = channel.replace(/^#/, '');
    return opts.channels[name] ?? (Object.values(opts.channels).includes(channel) ? channel : undefined);
  };

  upstream.route('POST /api/chat.postMessage', (call) => {
    const auth = call.headers.authorization;
    if (!auth) return apiError('not_authed');
    if (auth !== `Bearer ${opts.botToken}`) return apiError('invalid_auth');
    const failure = failures.shift();
    if (failure) return failure;
    const body = call.json as Record<string, any> | undefined;
    if (!body || typeof body.channel !== 'string') return apiError('channel_not_found');
    const id = channelId(body.channel);
    if (!id) return apiError('channel_not_found');
    if (opts.archived?.includes(id)) return apiError('is_archived');
    if (!body.text && !body.blocks && !body.attachments) return apiError('no_text');
    const ts = `1503435956.${String(++seq).padStart(6, '0')}`;
    return {
      json: {
        ok: true,
        channel: id,
        ts,
        message: {
          type: 'message',
          subtype: 'bot_message',
          text: body.text ?? '',
          ts,
          username: 'crm-bridge',
          bot_id: 'B123ABC456',
          ...(body.blocks && { blocks: body.blocks }),
        },
      },
    };
  });

  upstream.route(`POST ${WEBHOOK_PATH}`, (call) => {
    if (state.webhookChannel === 'archived') return webhookError(410, 'channel_is_archived');
    if (state.webhookChannel === 'deleted') return webhookError(404, 'channel_not_found');
    if (state.webhookChannel === 'prohibited') return webhookError(403, 'action_prohibited');
    const body = call.json as Record<string, any> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return webhookError(400, 'invalid_payload');
    if (!body.text && !(Array.isArray(body.blocks) && body.blocks.length > 0) && !body.attachments)
      return webhookError(400, 'no_text');
    return { text: 'ok' };
  });

  return {
    url: upstream.url,
    apiUrl: `${upstream.url}/api`,
    webhookUrl: `${upstream.url}${WEBHOOK_PATH}`,
    postMessageCalls: () => upstream.calls('POST /api/chat.postMessage'),
    webhookCalls: () => upstream.calls(`POST ${WEBHOOK_PATH}`),
    failNext: (answer) => failures.push(answer),
    get webhookChannel() {
      return state.webhookChannel;
    },
    set webhookChannel(value) {
      state.webhookChannel = value;
    },
    reset: () => upstream.reset(),
    close: () => upstream.close(),
  };
}
