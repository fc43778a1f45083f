import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds what `npm start` serves (web app, basemap) when missing or older than its sources. Shared by
 * `npm start` (scripts/start.mjs) and the browser tests' global setup.
 */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'webapp/dist/index.html');
const sources = [
  'webapp/src',
  'webapp/public',
  'webapp/index.html',
  'webapp/vite.config.ts',
  'webapp/package.json',
  'shared/src',
].map((p) => join(root, p));

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export function webappIsBuilt() {
  if (!existsSync(dist)) return false;
  const builtAt = statSync(dist).mtimeMs;
  return sources.every((source) => newestMtime(source) <= builtAt);
}

/** @returns true when a build ran. Throws when the build fails. */
export function ensureWebappBuilt(log = (line) => process.stderr.write(`${line}\n`)) {
  if (webappIsBuilt()) return false;
  const started = Date.now();
  log(
    existsSync(dist)
      ? 'Rebuilding the web app (sources changed) …'
      : 'Building the web app (first start) …',
  );
  const result = spawnSync(
    process.execPath,
    [join(root, 'node_modules/vite/bin/vite.js'), 'build'],
    {
      cwd: join(root, 'webapp'),
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (result.status !== 0) throw new Error('Building the web app failed; see the output above.');
  log(`Web app built in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return true;
}

const basemap = join(root, 'maps/dist/basemap.pmtiles');
const glyphs = join(root, 'maps/dist/fonts/Noto Sans Regular/0-255.pbf');
const basemapSources = ['maps/src', 'maps/package.json'].map((p) => join(root, p));

/** Builds the embedded basemap and its glyphs (maps/dist) when missing or outdated. */
export function ensureBasemapBuilt(log = (line) => process.stderr.write(`${line}\n`)) {
  if (
    existsSync(basemap) &&
    existsSync(glyphs) &&
    basemapSources.every((s) => newestMtime(s) <= statSync(basemap).mtimeMs)
  ) {
    return false;
  }
  const result = spawnSync(
    join(root, 'node_modules/.bin/tsx'),
    [join(root, 'maps/src/build-basemap.ts')],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (result.status !== 0) throw new Error('Building the basemap failed; see the output above.');
  log('Basemap ready.');
  return true;
}
