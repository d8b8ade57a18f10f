import { parseBody } from '../../../lambdas/connectors/upstream-http';
import { parseJson, protectLargeIntegers } from '../../../lambdas/connectors/json';

/** Upstream JSON keeps every digit: integers beyond 2^53 become their decimal strings. */
const TOKEN = '5741311803571721087'; // a real-sized Viber message_token

test('a JSON body with an integer beyond 2^53 keeps it digit for digit, as a string', async () => {
  const body = await parseBody(
    new Response(`{"status":0,"message_token":${TOKEN},"chat_hostname":"SN-CHAT-05_"}`, {
      headers: { 'content-type': 'application/json' },
    }),
  );
  expect(body).toEqual({ status: 0, message_token: TOKEN, chat_hostname: 'SN-CHAT-05_' });
});

test('safe numbers stay numbers; unsafe integers anywhere (negative, nested, in arrays) become strings', () => {
  expect(
    parseJson(
      '{"a":[9007199254740991,9007199254740992,-9007199254740993],"b":{"c":12345678901234567890},"d":1.5,"e":-0.25,"f":1e21,"g":"12345678901234567890"}',
    ),
  ).toEqual({
    a: [9007199254740991, '9007199254740992', '-9007199254740993'],
    b: { c: '12345678901234567890' },
    d: 1.5,
    e: -0.25,
    f: 1e21,
    g: '12345678901234567890',
  });
});

test('a fraction with more digits than a double holds keeps the nearest double (documented)', () => {
  expect(parseJson('{"x":3.14159265358979323846264338}')).toEqual({ x: 3.141592653589793 });
});

test('a repeated key keeps its last value, as JSON.parse does, on both paths', () => {
  expect(parseJson('{"a":1,"a":2}')).toEqual({ a: 2 });
  expect(parseJson('{"a":1,"a":12345678901234567890}')).toEqual({ a: '12345678901234567890' });
});

test('invalid JSON throws a SyntaxError like JSON.parse', () => {
  expect(() => parseJson('{"a": 12345678901234567890')).toThrow(SyntaxError);
  expect(() => parseJson('{"a":')).toThrow(SyntaxError);
});

test('protectLargeIntegers quotes unsafe integers so that a later JSON.parse sees the digits', () => {
  expect(JSON.parse(protectLargeIntegers(`{"records":[{"Big__c":${TOKEN},"n":1}]}`))).toEqual({
    records: [{ Big__c: TOKEN, n: 1 }],
  });
  expect(protectLargeIntegers('{"n":1}')).toBe('{"n":1}');
  expect(protectLargeIntegers('not json 12345678901234567890')).toBe('not json 12345678901234567890');
});

test('a long digit run inside a string is no number: it stays the string, and a bare top-level big integer is kept too', () => {
  expect(parseJson('{"id":"006000000000000001","n":[1,12345678901234567]}')).toEqual({
    id: '006000000000000001',
    n: [1, '12345678901234567'],
  });
  expect(parseJson(' 12345678901234567890')).toBe('12345678901234567890');
  expect(parseJson('{"a": -12345678901234567890}')).toEqual({ a: '-12345678901234567890' });
  expect(parseJson('[ 12345678901234567890 ]')).toEqual(['12345678901234567890']);
});
