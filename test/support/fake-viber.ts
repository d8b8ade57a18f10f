import { startFakeUpstream, type FakeAnswer, type FakeUpstream, type RecordedCall } from '../../local/fake-upstream';

/**
 * Viber's REST Bot API send_message on 127.0.0.1, answering as documented in
 * https://developers.viber.com/docs/api/rest-bot-api/#send-message and
 * #error-codes: HTTP 200 always; `status` 0 and a 64-bit `message_token` on
 * success (the docs' own example token is 5741311803571721087, beyond 2^53,
 * so the body is written as text, not by JSON.stringify); a non-zero `status`
 * with the error's name as `status_message` otherwise. The X-Viber-Auth-Token
 * header is checked; receivers must be subscribed.
 */
export const VIBER_FIRST_TOKEN = 5741311803571721087n;

/** The error codes the stand-in uses (the docs' "Error codes" table). */
export const VIBER_STATUS = {
  badData: 3,
  missingData: 4,
  receiverNotSubscribed: 6,
  invalidAuthToken: 2,
  tooManyRequests: 12,
} as const;

export interface FakeViber extends Pick<FakeUpstream, 'url' | 'close' | 'reset'> {
  /** Base URL of the Bot API (`baseUrl` of a connector). */
  apiUrl: string;
  calls(): RecordedCall[];
  /** The message_token of each accepted message, as the decimal string that was sent. */
  tokens: string[];
  /** The next send_message answers this error status once (e.g. tooManyRequests). */
  failNext(status: keyof typeof VIBER_STATUS): void;
}

const json = (text: string): FakeAnswer => ({ text, headers: { 'content-type': 'application/json' } });
const error = (name: keyof typeof VIBER_STATUS): FakeAnswer =>
  json(JSON.stringify({ status: VIBER_STATUS[name], status_message: name }));

export async function startFakeViber(opts: { authToken: string; subscribers: string[] }): Promise<FakeViber> {
  const upstream = await startFakeUpstream();
  const tokens: string[] = [];
  const failures: Array<keyof typeof VIBER_STATUS> = [];
  let next = VIBER_FIRST_TOKEN;
  upstream.route('POST /pa/send_message', (call) => {
    if (call.headers['x-viber-auth-token'] !== opts.authToken) return error('invalidAuthToken');
    const failure = failures.shift();
    if (failure) return error(failure);
    const body = call.json as Record<string, any> | undefined;
    if (!body || typeof body !== 'object') return error('badData');
    // receiver, type and sender.name are the documented required fields.
    if (typeof body.receiver !== 'string' || typeof body.type !== 'string' || typeof body.sender?.name !== 'string')
      return error('missingData');
    if (!opts.subscribers.includes(body.receiver)) return error('receiverNotSubscribed');
    const token = String(next++);
    tokens.push(token);
    return json(
      `{"status":0,"status_message":"ok","message_token":${token},"chat_hostname":"SN-CHAT-05_","billing_status":1}`,
    );
  });
  return {
    url: upstream.url,
    apiUrl: `${upstream.url}/pa`,
    calls: () => upstream.calls('POST /pa/send_message'),
    tokens,
    failNext: (status) => failures.push(status),
    reset: () => upstream.reset(),
    close: () => upstream.close(),
  };
}
