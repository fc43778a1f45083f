import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBasemap } from './basemap.ts';

/** `npm run build -w maps`: writes maps/dist/basemap.pmtiles. */
const out = join(dirname(fileURLToPath(import.meta.url)), '../dist/basemap.pmtiles');
const started = Date.now();
process.stderr.write('Building the basemap (zoom 0–6) …\n');
const archive = buildBasemap({ maxZoom: 6 });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, archive);
process.stderr.write(
  `Basemap written: ${out} (${(archive.length / 1e6).toFixed(1)} MB, ${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
);
