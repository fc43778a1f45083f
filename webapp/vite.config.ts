import { defineConfig, type Plugin } from 'vite';
import vue from '@vitejs/plugin-vue';

/**
 * Writes `precache.json`: every built file and a version that changes with any of them,
 * for the service worker (public/sw.js) to keep the app shell for offline use.
 */
function precacheList(): Plugin {
  return {
    name: 'trupp-precache-list',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle)
        .filter((name) => name.startsWith('assets/'))
        .sort()
        .map((name) => `/${name}`);
      // Hashed names change with their content, so a hash of the names versions the build.
      let hash = 5381;
      for (const char of files.join('\n')) hash = ((hash * 33) ^ char.charCodeAt(0)) >>> 0;
      this.emitFile({
        type: 'asset',
        fileName: 'precache.json',
        source: JSON.stringify({ version: hash.toString(36), files }),
      });
    },
  };
}

/** The backend (port 8080) serves the built app itself; in development Vite proxies to it. */
export default defineConfig({
  plugins: [vue(), precacheList()],
  server: {
    proxy: {
      '/api': { target: 'http://localhost:8080', changeOrigin: true },
      '/socket.io': { target: 'http://localhost:8080', ws: true, changeOrigin: true },
    },
  },
  build: { outDir: 'dist', emptyOutDir: true },
});
