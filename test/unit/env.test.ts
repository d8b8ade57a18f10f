import { choiceSetting, intEnv, intSetting, optionalEnv, readEnv, requireEnv } from '../../lambdas/shared/env';
import { ConfigurationError } from '../../lambdas/shared/errors';
import { CONTROLLER_ENV, INT_SETTINGS, WORKER_ENV } from '../../lambdas/contract/env';

test('requireEnv fails fast naming the variable', () => {
  expect(() => requireEnv('JOBS_TABLE', {})).toThrow(
    new ConfigurationError('Environment variable JOBS_TABLE is required but not set'),
  );
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

describe('the contract settings (lambdas/contract/env.ts)', () => {
  const complete = {
    CONNECTORS_TABLE: 'c',
    JOBS_TABLE: 'j',
    JOBS_QUEUE_URL: 'q',
    FILES_TABLE: 'f',
    MIGRATIONS_TABLE: 'm',
    FILES_BUCKET: 'b',
    JOB_DATA_BUCKET: 'd',
  };

  test("intSetting applies the contract's default and bounds", () => {
    expect(intSetting('SECRETS_CACHE_TTL_SECONDS', {})).toBe(INT_SETTINGS.SECRETS_CACHE_TTL_SECONDS.default);
    expect(intSetting('MULTIPART_THRESHOLD_BYTES', { MULTIPART_THRESHOLD_BYTES: String(5 * 1024 ** 2) })).toBe(
      5 * 1024 ** 2,
    );
    expect(() =>
      intSetting('MULTIPART_THRESHOLD_BYTES', { MULTIPART_THRESHOLD_BYTES: String(5 * 1024 ** 2 - 1) }),
    ).toThrow(/between 5242880 and 5368709120/);
    expect(() => intSetting('CONNECTOR_CACHE_TTL_SECONDS', { CONNECTOR_CACHE_TTL_SECONDS: '86401' })).toThrow(
      ConfigurationError,
    );
  });

  test('choiceSetting takes the first value when unset and refuses any other', () => {
    expect(choiceSetting('INTERNAL_TARGETS', {})).toBe('refuse');
    expect(choiceSetting('MALWARE_SCAN', { MALWARE_SCAN: 'guardduty' })).toBe('guardduty');
    expect(() => choiceSetting('MALWARE_SCAN', { MALWARE_SCAN: 'yes' })).toThrow(
      'Environment variable MALWARE_SCAN must be one of "guardduty", "local" or unset, got "yes"',
    );
  });

  test("readEnv reads a handler's whole spec, typed, with defaults", () => {
    const env = readEnv(CONTROLLER_ENV, { ...complete, JOB_TTL_DAYS: '7' });
    expect(env).toEqual({
      ...complete,
      CONNECTOR_CACHE_TTL_SECONDS: 30,
      JOB_TTL_DAYS: 7,
      FILE_URL_EXPIRY_SECONDS: 900,
      MAX_FILE_SIZE_BYTES: 5 * 1024 ** 4,
      MULTIPART_THRESHOLD_BYTES: 8 * 1024 ** 2,
      MALWARE_SCAN: '',
    });
    // The worker writes migrated files and matches scan results to the files bucket: it needs its name.
    expect(readEnv(WORKER_ENV, { ...complete, STAGE: 'dev' })).toMatchObject({
      FILES_BUCKET: 'b',
      MIGRATION_BATCH_SIZE: 20,
      MALWARE_SCAN: '',
    });
    expect(() => readEnv(WORKER_ENV, { ...complete, FILES_BUCKET: '', STAGE: 'dev' })).toThrow(
      'Environment variable FILES_BUCKET is required but not set',
    );
  });

  test('readEnv names every missing or bad variable at once', () => {
    const { JOBS_TABLE: _, ...withoutJobs } = complete;
    expect(() => readEnv(WORKER_ENV, { ...withoutJobs, JOB_TTL_DAYS: '0', INTERNAL_TARGETS: 'sometimes' })).toThrow(
      new ConfigurationError(
        'Environment variable STAGE is required but not set; Environment variable JOBS_TABLE is required but not set; ' +
          'Environment variable JOB_TTL_DAYS must be an integer between 1 and 36500, got "0"; ' +
          'Environment variable INTERNAL_TARGETS must be one of "refuse", "opt-in", "allow" or unset, got "sometimes"',
      ),
    );
  });
});
