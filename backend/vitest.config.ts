import { defineProject } from 'vitest/config';

// Each test file creates, migrates and drops its own database (src/test/helper.ts),
// so files run in parallel without seeing each other's rows or the demo data.
export default defineProject({
  test: {
    name: 'backend',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
