import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBasemap } from './basemap.ts';
import { FONT_STACKS, buildFontStack, type FontStack } from './glyphs.ts';

/**
 * `npm run build -w maps`: writes maps/dist/fonts/{font stack}/{range}.pbf and then
 * maps/dist/basemap.pmtiles. The archive comes last: `npm start` rebuilds when it is
 * missing or older than the sources, so a build cut short is repeated. Both are written
 * aside and renamed into place, so a running server never reads half a file.
 */
const dist = join(dirname(fileURLToPath(import.meta.url)), '../dist');
const started = Date.now();
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

process.stderr.write('Building the glyphs (Noto Sans) …\n');
const fonts = join(dist, 'fonts');
const fontsAside = join(dist, `fonts.${process.pid}`);
let glyphBytes = 0;
for (const name of Object.keys(FONT_STACKS) as FontStack[]) {
  const ranges = await buildFontStack(name);
  mkdirSync(join(fontsAside, name), { recursive: true });
  for (const [start, pbf] of ranges) {
    writeFileSync(join(fontsAside, name, `${start}-${start + 255}.pbf`), pbf);
    glyphBytes += pbf.length;
  }
}
rmSync(fonts, { recursive: true, force: true });
renameSync(fontsAside, fonts);
process.stderr.write(
  `Glyphs written: ${fonts} (${(glyphBytes / 1e6).toFixed(1)} MB, ${seconds()} s)\n`,
);

process.stderr.write('Building the basemap (zoom 0–6) …\n');
const archive = buildBasemap({ maxZoom: 6 });
const out = join(dist, 'basemap.pmtiles');
writeFileSync(`${out}.${process.pid}`, archive);
renameSync(`${out}.${process.pid}`, out);
process.stderr.write(
  `Basemap written: ${out} (${(archive.length / 1e6).toFixed(1)} MB, ${seconds()} s)\n`,
);
