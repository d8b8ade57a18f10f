/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  // Integration tests start a local hub per file; two workers fit this 2-core machine.
  maxWorkers: 2,
  testTimeout: 60000,
};
