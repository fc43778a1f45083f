import { defineProject } from 'vitest/config';

// Whole-system tests: the real server as a child process, real MariaDB, real Chromium.
export default defineProject({
  test: {
    name: 'test',
    environment: 'node',
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    globalSetup: ['support/global-setup.ts'],
  },
});
