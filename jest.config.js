/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  // The published specifiers, mapped to the sources (as tsconfig.json's `paths` does for tsc and ts-node).
  moduleNameMapper: {
    '^chat-room$': '<rootDir>/src/index.ts',
    '^chat-room/(sharp|fs|ws|long-poll|sqlite|postgres|caching|redis)$': '<rootDir>/src/adapters/$1/index.ts',
    '^chat-room/(.*)$': '<rootDir>/src/$1',
  },
};
