import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import type { Page, Response } from 'playwright-core';
import { buildProtomapsSample } from '@trupp/maps/protomaps-sample';
import { startDemo, type DemoSite } from '../support/demo.ts';
import { repoRoot } from '../support/server.ts';

/**
 * Street maps from an admin's regional extract (MAP_PMTILES, Protomaps schema): the map
 * draws the extract with the Protomaps layers — here a small sample archive around
 * Kassel, since no real extract can be downloaded in a test — from our own origin only,
 * and keeps what was viewed for offline use range by range.
 */
let site: DemoSite;
const sample = buildProtomapsSample();

beforeAll(async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'trupp-region-')), 'kassel.pmtiles');
  writeFileSync(file, sample);
  site = await startDemo({ env: { MAP_PMTILES: file } });
});
afterAll(async () => site?.close());

/** Fraction of pixels near a colour, in the part of the map no panel or control covers. */
function share(png: PNG, hex: string): number {
  const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  let total = 0;
  for (let y = 110; y < png.height - 50; y += 1) {
    for (let x = 360; x < png.width - 60; x += 1) {
      const i = (y * png.width + x) * 4;
      const d = want.reduce((sum, c, k) => sum + Math.abs(png.data[i + k]! - c), 0);
      if (d < 12) n += 1;
      total += 1;
    }
  }
  return n / total;
}

async function shot(page: Page, file: string): Promise<PNG> {
  const png = await page.getByTestId('map').screenshot();
  mkdirSync(join(repoRoot, 'test/artifacts'), { recursive: true });
  writeFileSync(join(repoRoot, 'test/artifacts', file), png);
  return PNG.sync.read(png);
}

describe('street maps from a regional extract', () => {
  it('draws the extract with Protomaps layers from our own origin, also offline', async () => {
    const server = site.server;
    const page = await site.open('de-DE', { viewport: { width: 1200, height: 800 } });
    const foreign: string[] = [];
    const regionRanges: string[] = [];
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(server.url) && !url.startsWith('data:') && !url.startsWith('blob:'))
        foreign.push(url);
      if (url.includes('/tiles/region.pmtiles'))
        regionRanges.push(request.headers().range ?? 'none');
    });

    await site.signIn(page, 'lead');
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, {
      timeout: 30_000,
    });
    await page.getByTestId('nav-map').click();
    await page.locator('[data-testid="map"][data-loaded="true"]').waitFor({ timeout: 30_000 });

    // Opened over the extract: its land, and the lake that only the extract has (the
    // world map has land all around Kassel). The lake is only some 150 × 120 pixels.
    const online = await shot(page, 'map-region.png');
    expect(share(online, '#e2dfda')).toBeGreaterThan(0.3);
    expect(share(online, '#80deea')).toBeGreaterThan(0.01);
    expect(regionRanges.length).toBeGreaterThan(0);
    expect(regionRanges.every((r) => r.startsWith('bytes='))).toBe(true);
    expect(foreign).toEqual([]);

    // An extract is kept range by range, as viewed, never downloaded whole.
    const kept = async (cache: string) =>
      (
        await page.evaluate(
          async (name) => (await (await caches.open(name)).keys()).map((k) => k.url),
          cache,
        )
      ).filter((u) => u.includes('/tiles/region.pmtiles'));
    await expect
      .poll(async () => (await kept('trupp-ranges-v1')).length, { timeout: 15_000 })
      .toBeGreaterThan(2);
    expect(await kept('trupp-map-v1')).toEqual([]);
    await page.context().setOffline(true);
    await server.stop();
    const answered: Response[] = [];
    page.on('response', (response) => answered.push(response));
    await page.reload();
    await page.locator('[data-testid="map"][data-loaded="true"]').waitFor({ timeout: 30_000 });
    const offline = await shot(page, 'map-region-offline.png');
    expect(share(offline, '#e2dfda')).toBeGreaterThan(0.3);
    expect(share(offline, '#80deea')).toBeGreaterThan(0.01);
    const ranges = answered.filter((r) => r.url().includes('/tiles/region.pmtiles'));
    expect(ranges.length).toBeGreaterThan(0);
    for (const r of ranges) {
      expect(r.fromServiceWorker()).toBe(true);
      expect(r.status()).toBe(206);
      const [, start, end] = /bytes=(\d+)-(\d+)/.exec((await r.request().headerValue('range'))!)!;
      const body = await r.body();
      expect(body).toEqual(sample.subarray(Number(start), Number(end) + 1));
    }
    expect(foreign).toEqual([]);
  });
});
