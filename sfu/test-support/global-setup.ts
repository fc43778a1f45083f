import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs the worker build step before any sfu test: a no-op when the worker is in place,
 * a copy from the cache after `npm ci`, the full offline build only the first time.
 * @throws Error when no worker can be provided (the step printed why).
 */
export default function setup(): void {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'build-worker.mjs');
  const result = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error('No mediasoup worker: `npm run build:worker -w sfu` failed (see above).');
  }
}
