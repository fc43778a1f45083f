import { defineProject } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

export default defineProject({
  plugins: [vue()],
  test: { name: 'webapp', environment: 'happy-dom', include: ['src/**/*.test.ts'] },
});
