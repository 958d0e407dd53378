/** Unit tests sit beside the code (no servers); integration tests live in test/ and need the stack. */
const tsJest = ['ts-jest', {}];
module.exports = {
  testTimeout: 180000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/{lib,bridge,writer,detector,simulator,analytics,schemas,db}/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
    },
  ],
};
