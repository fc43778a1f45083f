import { defineConfig } from 'vitest/config';

/**
 * One vitest run for the whole repository: each workspace is a project with its own
 * environment. Backend files each create their own database, so they run in parallel.
 */
export default defineConfig({
  test: {
    projects: ['shared', 'chat-client', 'backend', 'sfu', 'webapp', 'maps', 'test'],
  },
});
