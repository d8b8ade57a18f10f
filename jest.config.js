// Lambda runs Node 22; the SDK's Node 20 notice is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // isolatedModules (tsconfig) makes ts-jest transpile only; `npm test` type-checks with tsc first.
  transform: { '^.+\\.ts$': 'ts-jest' },
  // Integration tests start a local hub per file; two workers fit this 2-core machine.
  maxWorkers: 2,
  testTimeout: 60000,
  // The run's own TMPDIR; the teardown fails the run if tests left temporary folders in it.
  globalSetup: '<rootDir>/test/support/tmpdir-setup.js',
  globalTeardown: '<rootDir>/test/support/tmpdir-teardown.js',
};
