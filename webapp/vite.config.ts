import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

/** The backend (port 8080) serves the built app itself; in development Vite proxies to it. */
export default defineConfig({
  plugins: [vue()],
  server: {
    proxy: {
      '/api': { target: 'http://localhost:8080', changeOrigin: true },
      '/socket.io': { target: 'http://localhost:8080', ws: true, changeOrigin: true },
    },
  },
  build: { outDir: 'dist', emptyOutDir: true },
});
