/**
 * Unit tests sit beside the code (no servers); integration tests live in test/ and need the
 * stack; the fault tests (test/faults/, part of `npm test`) and the chaos suite (test/chaos/,
 * `npm run test:chaos`) stop and restart the native stack's servers, so each runs alone, after
 * the others.
 */
const tsJest = ['ts-jest', {}];
module.exports = {
  testTimeout: 180000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/{lib,bridge,writer,detector,simulator,analytics,schemas,db,cli}/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/test/chaos/', '<rootDir>/test/faults/'],
      globalSetup: '<rootDir>/test/global-setup.ts',
    },
    {
      displayName: 'faults',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
    },
    {
      displayName: 'chaos',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/chaos/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
    },
  ],
};
