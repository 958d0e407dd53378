/**
 * Unit tests sit beside the code (no servers; testkit/'s own tests too); integration tests live in test/ and need the
 * stack; the fault tests (test/faults/) and the chaos suite (test/chaos/, alone:
 * `npm run test:chaos`), both part of `npm test`, stop and restart the native stack's servers,
 * so they run one file at a time, after the others. test/kafka3/ (`npm run test:kafka3`) needs the native stack with three Kafka
 * brokers (deploy/native/README.md) and fails on any other, so no default run includes it.
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
      testMatch: ['<rootDir>/{lib,bridge,writer,detector,simulator,analytics,schemas,db,cli,notify,testkit,bench}/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/test/chaos/', '<rootDir>/test/faults/', '<rootDir>/test/kafka3/'],
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
    {
      displayName: 'kafka3',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/kafka3/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
    },
  ],
};
