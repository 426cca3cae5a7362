/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  moduleNameMapper: { '^chat-room$': '<rootDir>/src/index.ts', '^chat-room/(.*)$': '<rootDir>/src/$1' },
};
