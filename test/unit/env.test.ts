import { intEnv, optionalEnv, requireEnv } from '../../lambdas/shared/env';
import { ConfigurationError } from '../../lambdas/shared/errors';

test('requireEnv fails fast naming the variable', () => {
  expect(() => requireEnv('JOBS_TABLE', {})).toThrow(new ConfigurationError('Environment variable JOBS_TABLE is required but not set'));
  expect(() => requireEnv('JOBS_TABLE', { JOBS_TABLE: '  ' })).toThrow(ConfigurationError);
  expect(requireEnv('JOBS_TABLE', { JOBS_TABLE: 't' })).toBe('t');
});

test('intEnv applies the default, parses, and refuses junk or out-of-range values', () => {
  expect(intEnv('N', 30, {}, {})).toBe(30);
  expect(intEnv('N', 30, {}, { N: '5' })).toBe(5);
  expect(() => intEnv('N', 30, {}, { N: 'abc' })).toThrow(/N must be an integer/);
  expect(() => intEnv('N', 30, { min: 1 }, { N: '0' })).toThrow(ConfigurationError);
  expect(() => intEnv('N', 30, {}, { N: '1.5' })).toThrow(ConfigurationError);
});

test('optionalEnv treats blank as absent', () => {
  expect(optionalEnv('X', { X: '' })).toBeUndefined();
  expect(optionalEnv('X', { X: 'v' })).toBe('v');
});
