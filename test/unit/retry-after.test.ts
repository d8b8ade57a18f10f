import { parseRetryAfter } from '../../lambdas/connectors/retry-after';

describe('parseRetryAfter', () => {
  test('delta seconds', () => expect(parseRetryAfter('3')).toBe(3000));
  test('HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
  });
  test('absent or garbage', () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
