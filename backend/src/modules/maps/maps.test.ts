import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFontStack, decodeGlyphs } from '@trupp/maps/glyphs';
import { parsePmtilesHeader } from '@trupp/maps/pmtiles-header';
import { buildProtomapsSample } from '@trupp/maps/protomaps-sample';
import { loadConfig, type ConfigError } from '../../config.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import { parseRange } from './range-file.ts';

let h: TestApp;
let region: TestApp;
let regionFile: string;
const archive = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));
const sample = buildProtomapsSample();

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trupp-maps-'));
  writeFileSync(join(dir, 'basemap.pmtiles'), archive);
  // Only the first range of one font: enough to see what is served, quick to render.
  const regular = await buildFontStack('Noto Sans Regular');
  mkdirSync(join(dir, 'fonts/Noto Sans Regular'), { recursive: true });
  writeFileSync(join(dir, 'fonts/Noto Sans Regular/0-255.pbf'), regular.get(0)!);
  regionFile = join(dir, 'kassel.pmtiles');
  writeFileSync(regionFile, sample);
  h = await createTestApp({ MAPS_DIR: dir });
  region = await createTestApp({ MAPS_DIR: dir, MAP_PMTILES: regionFile });
});
afterAll(async () => {
  await h?.close();
  await region?.close();
});

/** Every URL-like string in a style (sources, glyphs, sprite). */
function urlsIn(style: Record<string, unknown>): string[] {
  const sources = Object.values(
    style.sources as Record<string, { url?: string; tiles?: string[] }>,
  );
  return [
    ...sources.flatMap((s) => [s.url, ...(s.tiles ?? [])]),
    style.glyphs,
    style.sprite,
  ].filter((u): u is string => typeof u === 'string');
}

describe('basemap serving', () => {
  it('answers range requests with exactly the bytes asked for', async () => {
    const res = await h.app.inject({
      method: 'GET',
      url: '/tiles/basemap.pmtiles',
      headers: { range: 'bytes=100-199' },
    });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe('bytes 100-199/1000');
    expect(res.headers['content-length']).toBe('100');
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.rawPayload).toEqual(archive.subarray(100, 200));
    const tail = await h.app.inject({
      method: 'GET',
      url: '/tiles/basemap.pmtiles',
      headers: { range: 'bytes=-10' },
    });
    expect(tail.headers['content-range']).toBe('bytes 990-999/1000');
    expect(tail.rawPayload).toEqual(archive.subarray(990));
    const open = await h.app.inject({
      method: 'GET',
      url: '/tiles/basemap.pmtiles',
      headers: { range: 'bytes=900-5000' },
    });
    expect(open.headers['content-range']).toBe('bytes 900-999/1000');
    expect(open.rawPayload).toEqual(archive.subarray(900));
  });

  it('serves the whole archive without a range, and 404 with a code for unknown archives', async () => {
    const whole = await h.app.inject({ method: 'GET', url: '/tiles/basemap.pmtiles' });
    expect(whole.statusCode).toBe(200);
    expect(whole.rawPayload.length).toBe(1000);
    expect(whole.headers.etag).toMatch(/^".+"$/);
    const head = await h.app.inject({ method: 'HEAD', url: '/tiles/basemap.pmtiles' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe('1000');
    expect(head.headers.etag).toBe(whole.headers.etag);
    const missing = await h.app.inject({ method: 'GET', url: '/tiles/nope.pmtiles' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    // Without MAP_PMTILES there is no regional extract.
    const noRegion = await h.app.inject({ method: 'GET', url: '/tiles/region.pmtiles' });
    expect(noRegion.statusCode).toBe(404);
  });

  it('refuses a range beyond the end with 416 and a code', async () => {
    const res = await h.app.inject({
      method: 'GET',
      url: '/tiles/basemap.pmtiles',
      headers: { range: 'bytes=1000-1100' },
    });
    expect(res.statusCode).toBe(416);
    expect(res.headers['content-range']).toBe('bytes */1000');
    expect(res.json()).toMatchObject({ code: 'MAP_RANGE_NOT_SATISFIABLE' });
  });

  it('parses ranges as RFC 9110 says', () => {
    expect(parseRange(undefined, 10)).toBeNull();
    expect(parseRange('bytes=0-0', 10)).toEqual({ start: 0, end: 0 });
    expect(parseRange('bytes=5-', 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange('bytes=-20', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable');
    // Several ranges, garbage or a reversed range: the whole file.
    expect(parseRange('bytes=0-1,4-5', 10)).toBeNull();
    expect(parseRange('items=0-1', 10)).toBeNull();
    expect(parseRange('bytes=5-2', 10)).toBeNull();
  });
});

describe('style', () => {
  it('is the embedded basemap with labels, every URL on our own origin', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/maps/style.json?lang=de-DE' });
    expect(res.statusCode).toBe(200);
    const style = res.json();
    expect(style.metadata['trupp:basemap']).toBe('embedded');
    expect(style.glyphs).toBe('/maps/fonts/{fontstack}/{range}.pbf');
    expect(style.sources.basemap.url).toBe('pmtiles:///tiles/basemap.pmtiles');
    for (const url of urlsIn(style)) expect(url).toMatch(/^(pmtiles:\/\/)?\/[^/]/);
    const ids = style.layers.map((l: { id: string }) => l.id);
    expect(ids).toEqual(['water', 'land', 'boundaries', 'place-labels', 'country-labels']);
    const countries = style.layers.find((l: { id: string }) => l.id === 'country-labels');
    expect(JSON.stringify(countries.layout['text-field'])).toContain('name_de');
    const english = (await h.app.inject({ method: 'GET', url: '/maps/style.json?lang=en' })).json();
    expect(JSON.stringify(english)).toContain('name_en');
  });

  it('switches to Protomaps street layers over our own extract when MAP_PMTILES is set', async () => {
    const res = await region.app.inject({ method: 'GET', url: '/maps/style.json?lang=de' });
    expect(res.statusCode).toBe(200);
    const style = res.json();
    expect(style.metadata['trupp:basemap']).toBe('region');
    expect(style.sources.protomaps.url).toBe('pmtiles:///tiles/region.pmtiles');
    expect(style.sources.protomaps.attribution).toContain('OpenStreetMap');
    expect(style.sprite).toBeUndefined();
    for (const url of urlsIn(style)) expect(url).toMatch(/^(pmtiles:\/\/)?\/[^/]/);
    const layers = style.layers as Array<{
      id: string;
      source?: string;
      'source-layer'?: string;
      layout?: Record<string, unknown>;
    }>;
    const protomaps = layers.filter((l) => l.source === 'protomaps');
    expect(new Set(protomaps.map((l) => l['source-layer']))).toEqual(
      new Set([
        'earth',
        'landcover',
        'landuse',
        'water',
        'roads',
        'buildings',
        'boundaries',
        'places',
      ]),
    );
    expect(layers.map((l) => l.id)).toEqual(
      expect.arrayContaining(['earth', 'water', 'roads_highway', 'places_locality']),
    );
    // No icons without sprites; German names first.
    for (const l of layers)
      expect(Object.keys(l.layout ?? {}).filter((k) => k.startsWith('icon-'))).toEqual([]);
    expect(JSON.stringify(style.layers)).toContain('name:de');
    // Opens over the extract.
    expect(style.center[0]).toBeCloseTo(9.5, 1);
    expect(style.center[1]).toBeCloseTo(51.3, 1);
    expect(style.zoom).toBeGreaterThanOrEqual(8);
  });

  it('serves the extract with range requests, byte for byte', async () => {
    const header = await region.app.inject({
      method: 'GET',
      url: '/tiles/region.pmtiles',
      headers: { range: 'bytes=0-16383' },
    });
    expect(header.statusCode).toBe(206);
    expect(header.headers['content-range']).toBe(
      `bytes 0-${Math.min(16383, sample.length - 1)}/${sample.length}`,
    );
    expect(header.rawPayload).toEqual(sample.subarray(0, 16384));
    const parsed = parsePmtilesHeader(header.rawPayload);
    expect(parsed).toMatchObject({ tileType: 1, minZoom: 0, maxZoom: 12 });
    const tail = await region.app.inject({
      method: 'GET',
      url: '/tiles/region.pmtiles',
      headers: { range: `bytes=${sample.length - 300}-${sample.length - 1}` },
    });
    expect(tail.statusCode).toBe(206);
    expect(tail.rawPayload).toEqual(sample.subarray(sample.length - 300));
    // The embedded archive is still served beside it.
    const embedded = await region.app.inject({ method: 'HEAD', url: '/tiles/basemap.pmtiles' });
    expect(embedded.statusCode).toBe(200);
  });

  it('refuses to start with a MAP_PMTILES that is not a PMTiles archive', () => {
    const notAnArchive = join(mkdtempSync(join(tmpdir(), 'trupp-maps-')), 'region.pmtiles');
    writeFileSync(notAnArchive, 'hello');
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ NODE_ENV: 'test', ...env });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ MAP_PMTILES: notAnArchive })).toEqual([
      expect.stringContaining('MAP_PMTILES must be a PMTiles archive'),
    ]);
    expect(problems({ MAP_PMTILES: '/nowhere/region.pmtiles' })).toEqual([
      expect.stringContaining('cannot be read'),
    ]);
    expect(problems({ MAP_PMTILES: regionFile })).toEqual([]);
  });
});

describe('glyphs', () => {
  it('serves SDF glyphs with umlauts and ß from our origin', async () => {
    const res = await h.app.inject({
      method: 'GET',
      url: `/maps/fonts/${encodeURIComponent('Noto Sans Regular')}/0-255.pbf`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-protobuf');
    const ids = new Set(decodeGlyphs(res.rawPayload).map((g) => g.id));
    for (const char of 'AZaz09äöüÄÖÜß') expect(ids.has(char.codePointAt(0)!), char).toBe(true);
  });

  it('answers font stacks we do not have with ours, uncovered ranges empty', async () => {
    const stack = encodeURIComponent('Open Sans Regular,Arial Unicode MS Regular');
    const other = await h.app.inject({ method: 'GET', url: `/maps/fonts/${stack}/0-255.pbf` });
    expect(other.statusCode).toBe(200);
    expect(decodeGlyphs(other.rawPayload).length).toBeGreaterThan(150);
    const cjk = await h.app.inject({
      method: 'GET',
      url: `/maps/fonts/${encodeURIComponent('Noto Sans Regular')}/19968-20223.pbf`,
    });
    expect(cjk.statusCode).toBe(200);
    expect(cjk.rawPayload.length).toBe(0);
  });

  it('refuses malformed ranges with a coded 400', async () => {
    for (const range of [
      '1-256.pbf',
      '0-511.pbf',
      '65536-65791.pbf',
      '..%2F..%2Fetc.pbf',
      'x.pbf',
    ]) {
      const res = await h.app.inject({
        method: 'GET',
        url: `/maps/fonts/${encodeURIComponent('Noto Sans Regular')}/${range}`,
      });
      expect(res.statusCode, range).toBe(400);
      expect(res.json(), range).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });
});
