import { defineProject } from 'vitest/config';

// MLS groups with several devices take a few hundred milliseconds to set up, hence the timeout.
export default defineProject({
  test: {
    name: 'chat-client',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
