#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBasemapBuilt, ensureWebappBuilt, root } from './build-if-needed.mjs';

/**
 * `npm start`: build the web app if it is not built (or outdated), then run the backend,
 * which serves API, socket.io and the web app on one port. Signals are passed on so the
 * backend shuts down gracefully.
 */
if (!existsSync(join(root, 'node_modules/.bin/tsx'))) {
  process.stderr.write('Dependencies are missing: run `npm install` first.\n');
  process.exit(1);
}
try {
  ensureWebappBuilt();
  ensureBasemapBuilt();
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
const backend = spawn(join(root, 'node_modules/.bin/tsx'), [join(root, 'backend/src/server.ts')], {
  stdio: 'inherit',
  cwd: root,
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => backend.kill(signal));
}
backend.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
