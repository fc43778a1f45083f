import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import type { Page, Response } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { startDemo, type DemoSite } from '../support/demo.ts';
import { repoRoot } from '../support/server.ts';

/**
 * The embedded basemap has labels drawn with glyphs from our own origin, and the map
 * stays usable without network: the service worker answers the app shell, the style,
 * the glyphs, the archive's range requests (sliced from the whole archive it cached)
 * and the last positions from Cache Storage after the server is gone.
 */
let site: DemoSite;
let socket: Socket | null = null;

beforeAll(async () => {
  site = await startDemo();
});
afterAll(async () => {
  socket?.close();
  await site?.close();
});

/** Fraction of pixels within a small distance of a colour. */
function share(png: PNG, hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [
    number,
    number,
    number,
  ];
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    const d =
      Math.abs(png.data[i]! - r) + Math.abs(png.data[i + 1]! - g) + Math.abs(png.data[i + 2]! - b);
    if (d < 12) n += 1;
  }
  return n / (png.width * png.height);
}

/**
 * Pixels darker than anything but label text on the basemap (land, sea and borders are
 * light), in the part of the map that no panel, message or control covers.
 */
function labelInk(png: PNG): number {
  let n = 0;
  for (let y = 110; y < 610; y += 1) {
    for (let x = 360; x < 1060; x += 1) {
      const i = (y * png.width + x) * 4;
      if (png.data[i]! < 90 && png.data[i + 1]! < 90 && png.data[i + 2]! < 90) n += 1;
    }
  }
  return n;
}

async function cacheUrls(page: Page, name: string): Promise<string[]> {
  return page.evaluate(async (cacheName) => {
    const cache = await caches.open(cacheName);
    return (await cache.keys()).map((request) => request.url);
  }, name);
}

/** Whether the map draws Max Mustermann (markers are WebGL: ask the map, webapp/src/map/test-hooks.ts). */
async function memberOnMap(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const hooks = (
      window as unknown as {
        __truppMap?: { rendered(layers: string[]): Array<{ properties: Record<string, unknown> }> };
      }
    ).__truppMap;
    const features = hooks?.rendered(['members-dot', 'members-label', 'members-hit']) ?? [];
    return features.some((f) => JSON.stringify(f.properties).includes('Max Mustermann'));
  });
}

async function shot(page: Page, file: string): Promise<PNG> {
  const png = await page.getByTestId('map').screenshot();
  mkdirSync(join(repoRoot, 'test/artifacts'), { recursive: true });
  writeFileSync(join(repoRoot, 'test/artifacts', file), png);
  return PNG.sync.read(png);
}

describe('map labels and offline use', () => {
  it('labels places with our glyphs and keeps basemap and last positions without network', async () => {
    const server = site.server;
    const page = await site.open('de-DE', { viewport: { width: 1200, height: 800 } });
    await page.addInitScript(() => window.localStorage.setItem('trupp.mapTestHooks', '1'));
    const foreign: string[] = [];
    const glyphs: string[] = [];
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(server.url) && !url.startsWith('data:') && !url.startsWith('blob:'))
        foreign.push(url);
      if (url.includes('/maps/fonts/')) glyphs.push(decodeURIComponent(url));
    });

    await site.signIn(page, 'lead');
    // The worker controls the page before the map opens, so what the map loads is kept.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, {
      timeout: 30_000,
    });
    await page.getByTestId('nav-map').click();
    await page.locator('[data-testid="map"][data-loaded="true"]').waitFor({ timeout: 30_000 });

    // Labels: German city and country names drawn with glyphs from our own origin.
    const online = await shot(page, 'map-labels.png');
    expect(share(online, '#f1eee6')).toBeGreaterThan(0.3);
    expect(share(online, '#a9cde6')).toBeGreaterThan(0.05);
    expect(labelInk(online)).toBeGreaterThan(400);
    expect(glyphs.some((u) => u.includes('/maps/fonts/Noto Sans Regular/0-255.pbf'))).toBe(true);
    expect(glyphs.some((u) => u.includes('/maps/fonts/Noto Sans Medium/0-255.pbf'))).toBe(true);
    const style = (await page.evaluate(() =>
      fetch('/maps/style.json?lang=de').then((r) => r.json()),
    )) as { layers: Array<{ id: string }> };
    expect(style.layers.map((l) => l.id)).toContain('place-labels');

    // A member shares a position; the lead opens the map again and sees them.
    const token = await site.login('member');
    await site.api(token, 'PUT', '/api/me/position-sharing', { on: true });
    socket = io(server.url, { transports: ['websocket'], auth: { token } });
    await new Promise<void>((resolve) => socket!.once('connect', () => resolve()));
    const ack = (await socket.timeout(5000).emitWithAck('position.report', {
      lat: 51.3,
      lon: 9.5,
      accuracy: 15,
      recordedAt: new Date().toISOString(),
    })) as { ok: boolean };
    expect(ack.ok).toBe(true);
    // A shell cache of an older build, as a deploy leaves behind: the next visit drops it.
    await page.evaluate(async () => {
      await (await caches.open('trupp-shell-v1-oldbuild')).put('/', new Response('old'));
    });
    await page.reload();
    await page.locator('[data-testid="map"][data-loaded="true"]').waitFor({ timeout: 30_000 });
    await expect.poll(() => memberOnMap(page), { timeout: 15_000 }).toBe(true);

    // Wait until the worker holds the whole archive, the glyphs and the positions.
    const origin = server.url;
    await expect
      .poll(() => cacheUrls(page, 'trupp-map-v1'), { timeout: 30_000 })
      .toContain(`${origin}/tiles/basemap.pmtiles`);
    await expect
      .poll(async () =>
        (await cacheUrls(page, 'trupp-map-v1')).some((u) => u.includes('/maps/fonts/')),
      )
      .toBe(true);
    await expect
      .poll(
        () =>
          page.evaluate(async () => {
            const cache = await caches.open('trupp-data-v1');
            const texts = await Promise.all(
              (await cache.keys()).map(async (k) => (await cache.match(k))!.text()),
            );
            return texts.join('\n');
          }),
        { timeout: 15_000 },
      )
      .toContain('Max Mustermann');
    const { version } = (await page.evaluate(() =>
      fetch('/precache.json').then((r) => r.json()),
    )) as { version: string };
    await expect
      .poll(() => page.evaluate(() => caches.keys()))
      .toEqual(expect.arrayContaining([`trupp-shell-v1-${version}`]));
    expect(await page.evaluate(() => caches.keys())).not.toContain('trupp-shell-v1-oldbuild');
    // Drop the per-range copies: offline, every range must be cut from the whole archive.
    expect((await cacheUrls(page, 'trupp-ranges-v1')).length).toBeGreaterThan(0);
    await page.evaluate(() => caches.delete('trupp-ranges-v1'));

    // No network, and no server either: whatever the page gets now comes from the worker.
    await page.context().setOffline(true);
    await server.stop();
    const answered: Response[] = [];
    page.on('response', (response) => answered.push(response));
    await page.reload();
    await page.locator('[data-testid="map"][data-loaded="true"]').waitFor({ timeout: 30_000 });
    await expect.poll(() => memberOnMap(page), { timeout: 15_000 }).toBe(true);

    const offline = await shot(page, 'map-offline.png');
    expect(share(offline, '#f1eee6')).toBeGreaterThan(0.3);
    expect(share(offline, '#a9cde6')).toBeGreaterThan(0.05);
    expect(labelInk(offline)).toBeGreaterThan(400);

    const ranges = answered.filter((r) => r.url().includes('/tiles/basemap.pmtiles'));
    expect(ranges.length).toBeGreaterThan(0);
    for (const r of ranges) {
      expect(r.fromServiceWorker()).toBe(true);
      expect(r.status()).toBe(206);
      const range = (await r.request().headerValue('range'))!;
      const [, start, end] = /bytes=(\d+)-(\d+)/.exec(range)!;
      expect(await r.headerValue('content-range')).toMatch(
        new RegExp(`^bytes ${start}-\\d+/\\d+$`),
      );
      expect((await r.body()).length).toBeLessThanOrEqual(Number(end) - Number(start) + 1);
    }
    const header = ranges.find((r) => r.request().headers().range?.startsWith('bytes=0-'));
    expect((await header!.body()).subarray(0, 7).toString('ascii')).toBe('PMTiles');
    const fonts = answered.filter((r) => r.url().includes('/maps/fonts/'));
    expect(fonts.length).toBeGreaterThan(0);
    expect(fonts.every((r) => r.fromServiceWorker() && r.status() === 200)).toBe(true);
    const positions = answered.find((r) => /\/api\/positions(\/map)?$/.test(r.url()));
    expect(positions?.fromServiceWorker()).toBe(true);
    expect(await positions!.text()).toContain('Max Mustermann');
    expect(foreign).toEqual([]);
  });
});
