import { defineProject } from 'vitest/config';

// Tests run a real mediasoup worker: the global setup makes sure one is built (restored
// from the cache in milliseconds; built offline in ~5 minutes the first time).
export default defineProject({
  test: {
    name: 'sfu',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test-support/global-setup.ts'],
  },
});
