// Three projects: fast unit tests beside the code, end-to-end tests against a real Kafka, and
// the reliability suite: faults and bad input against a real three-broker cluster.
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^@event-pipeline/common$': '<rootDir>/common/src/index.ts' },
  // What the setup caches is not ours to load: podman's storage there (.cache/images) holds copies
  // of the workspaces, which jest's module map would otherwise find twice.
  modulePathIgnorePatterns: ['<rootDir>/.cache/'],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/{common,observability,producer,consumer}/src/**/*.test.ts',
        '<rootDir>/test/unit/**/*.test.ts',
        '<rootDir>/bench/**/*.test.ts',
      ],
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      slowTestThreshold: 30,
    },
    {
      ...shared,
      displayName: 'reliability',
      testMatch: ['<rootDir>/test/reliability/**/*.test.ts'],
      globalSetup: '<rootDir>/test/reliability/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/reliability/support/global-teardown.ts',
      slowTestThreshold: 60,
    },
  ],
};
