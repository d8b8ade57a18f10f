import { REDACTED, SecretSet } from '../../../lambdas/connectors/redaction';

/** The redactor: each form a secret takes when an upstream echoes it. */
const secret = 'p@ss word/+&=é"x';

function setOf(...values: string[]) {
  const set = new SecretSet();
  values.forEach((v) => set.add(v));
  return set;
}

test.each([
  ['as is', `key=${secret}.`],
  ['URL-encoded', `url: https://h/x?k=${encodeURIComponent(secret)}&z=1`],
  [
    'form-encoded (spaces as +)',
    `body: grant_type=x&client_secret=${new URLSearchParams({ s: secret }).toString().slice(2)}`,
  ],
  ['JSON-escaped', JSON.stringify({ echoed: secret })],
  ['JSON in JSON', JSON.stringify({ raw: JSON.stringify({ echoed: secret }) })],
  ['base64 with a user in front (Basic)', `Authorization: Basic ${Buffer.from(`user:${secret}`).toString('base64')}`],
  [
    'base64 of URL-encoded parts (OAuth client_secret_basic)',
    `Basic ${Buffer.from(`client:${encodeURIComponent(secret)}`).toString('base64')}`,
  ],
])('%s', (_name, text) => {
  const out = setOf(secret).redactText(text);
  expect(out).toContain(REDACTED);
  expect(out).not.toContain(secret);
  expect(out).not.toContain(encodeURIComponent(secret));
  expect(out).not.toContain(Buffer.from(`user:${secret}`).toString('base64'));
});

test('other text is left alone; values shorter than 4 characters are not redacted', () => {
  const set = setOf('abc', 'tok-123456');
  expect(set.redactText('abc and abcd and Authorization: Bearer tok-123456')).toBe(
    `abc and abcd and Authorization: Bearer ${REDACTED}`,
  );
});

test('a longer secret containing a shorter one is replaced whole', () => {
  expect(setOf('secret', 'secret-and-more').redactText('x secret-and-more y')).toBe(`x ${REDACTED} y`);
});

test('a webhook URL: the whole URL, its path and its secret last segment', () => {
  const set = setOf('https://hooks.slack.example/services/T000/B000/XXXXsecretXXXX');
  expect(set.redactText('posting to https://hooks.slack.example/services/T000/B000/XXXXsecretXXXX failed')).toBe(
    `posting to ${REDACTED} failed`,
  );
  expect(set.redactText('no_service: /services/T000/B000/XXXXsecretXXXX')).toBe(`no_service: ${REDACTED}`);
  expect(set.redactText('token XXXXsecretXXXX revoked')).toBe(`token ${REDACTED} revoked`);
});

test('values: strings at any depth, keys included; other types kept', () => {
  const set = setOf('k-999999');
  const data = {
    headers: { 'x-api-key': 'k-999999' },
    list: ['a', 'k-999999?'],
    n: 1,
    ok: true,
    none: null,
    ['k-999999']: 'as a key',
  };
  expect(set.redactValue(data)).toEqual({
    headers: { 'x-api-key': REDACTED },
    list: ['a', `${REDACTED}?`],
    n: 1,
    ok: true,
    none: null,
    [REDACTED]: 'as a key',
  });
  expect(data.headers['x-api-key']).toBe('k-999999'); // a copy
});

test('errors: message, stack, causes and the raw data libraries keep on them', () => {
  const set = setOf('tok-abcdef');
  const cause = Object.assign(new Error('inner tok-abcdef'), { data: { message: 'bad tok-abcdef' } });
  const err = new Error('The service answered HTTP 400: Bearer tok-abcdef', { cause });
  expect(set.redactError(err)).toBe(err);
  expect(err.message).toBe(`The service answered HTTP 400: Bearer ${REDACTED}`);
  expect(err.stack).not.toContain('tok-abcdef');
  expect(cause.message).toBe(`inner ${REDACTED}`);
  expect(cause.data).toEqual({ message: `bad ${REDACTED}` });
});
