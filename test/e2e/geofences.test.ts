import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { io, type Socket } from 'socket.io-client';
import type { Geofence, OverlayLayer } from '@trupp/shared';
import { totp } from '../support/browser.ts';
import { startDemo, type DemoSite } from '../support/demo.ts';
import { repoRoot } from '../support/server.ts';

/**
 * Geofences and overlay layers on the dispatch map in real Chromium (WebGL): the
 * dispatcher draws an area by clicking the map, sees it filled with its name, and sees
 * a member who walks in and out announced live; an admin uploads a GeoJSON layer and a
 * broken file is refused with a message that says what to fix. Nothing leaves our origin.
 */
let site: DemoSite;
const sockets: Socket[] = [];

beforeAll(async () => {
  site = await startDemo();
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await site?.close();
});

interface Rendered {
  layer: string;
  properties: Record<string, unknown>;
  point: { x: number; y: number } | null;
}
interface MapHooks {
  rendered(layers: string[]): Rendered[];
  jumpTo(center: [number, number], zoom: number): Promise<void>;
}
type HookedWindow = { __truppMap: MapHooks };

const rendered = (page: Page, layers: string[]) =>
  page.evaluate((ids) => (window as unknown as HookedWindow).__truppMap.rendered(ids), layers);
const jumpTo = (page: Page, center: [number, number], zoom: number) =>
  page.evaluate(
    ([c, z]) =>
      (window as unknown as HookedWindow).__truppMap.jumpTo(c as [number, number], z as number),
    [center, zoom] as const,
  );

const MUSTERSTADT: [number, number] = [10.45, 51.16];

function pixel(png: PNG, x: number, y: number): [number, number, number] {
  const i = (Math.round(y) * png.width + Math.round(x)) * 4;
  return [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
}

function watchForeign(page: Page, origin: string): string[] {
  const foreign: string[] = [];
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:'))
      foreign.push(url);
  });
  return foreign;
}

/** Opens the map with the test hooks switched on, centred on Musterstadt. */
async function openMap(page: Page): Promise<void> {
  await page.evaluate(() => {
    window.localStorage.setItem('trupp.mapTestHooks', '1');
    window.localStorage.setItem('trupp.map.panelOpen', '1');
  });
  await page.reload();
  await page.getByTestId('nav-map').click();
  await page.locator('[data-testid="map"][data-loaded="true"]').waitFor({ timeout: 90_000 });
  await page.waitForFunction(() => Boolean((window as unknown as HookedWindow).__truppMap));
  await jumpTo(page, MUSTERSTADT, 12);
}

describe('dispatch map: geofences and overlay layers', () => {
  it('a dispatcher draws an area and sees members enter and leave it live', async () => {
    const { page, token } = await site.dispatcher('en-US', {
      viewport: { width: 1280, height: 860 },
    });
    const foreign = watchForeign(page, site.server.url);
    await openMap(page);
    const map = page.getByTestId('map');
    const box = (await map.boundingBox())!;
    const centre = { x: box.width / 2 + 120, y: box.height / 2 };
    const before = PNG.sync.read(await map.screenshot());

    // Draw a square around the point right of the centre, name it, give it a status rule.
    await page.getByTestId('map-section-geofences').locator('summary').click();
    await page.getByTestId('geofence-new').click();
    await page.getByTestId('geofence-editor').waitFor();
    for (const [dx, dy] of [
      [-110, -110],
      [110, -110],
      [110, 110],
      [-110, 110],
    ] as const) {
      await map.click({ position: { x: centre.x + dx, y: centre.y + dy } });
    }
    expect(await page.getByTestId('geofence-editor').innerText()).toContain('4 so far');
    await page.getByTestId('geofence-name').fill('Gerätehaus');
    await page.getByTestId('geofence-kind').selectOption('station');
    await page.getByTestId('geofence-status').fill('At the station');
    await page.getByTestId('geofence-save').click();
    await page.getByTestId('geofence-editor').waitFor({ state: 'detached' });

    // It is on the map: filled in the station colour, with its name.
    await page.locator('[data-testid="geofence-label"]', { hasText: 'Gerätehaus' }).waitFor();
    await expect
      .poll(async () => (await rendered(page, ['geofences-fill'])).map((f) => f.properties.name))
      .toContain('Gerätehaus');
    await page.waitForTimeout(500);
    const after = PNG.sync.read(await map.screenshot());
    mkdirSync(join(repoRoot, 'test/artifacts'), { recursive: true });
    writeFileSync(join(repoRoot, 'test/artifacts/map-geofence.png'), PNG.sync.write(after));
    // Inside the square the map turned greener (station areas are green, 16 % over the map).
    const at = { x: centre.x - 60, y: centre.y + 60 };
    const [r0, g0] = pixel(before, at.x, at.y);
    const [r1, g1] = pixel(after, at.x, at.y);
    expect(g1 - r1).toBeGreaterThan(g0 - r0 + 8);
    // Outside it nothing changed.
    const out = { x: centre.x + 300, y: centre.y - 250 };
    expect(pixel(after, out.x, out.y)).toEqual(pixel(before, out.x, out.y));

    const fences = await site.api<Geofence[]>(token, 'GET', '/api/geofences');
    const fence = fences.find((g) => g.name === 'Gerätehaus')!;
    expect(fence).toMatchObject({ kind: 'station', statusText: 'At the station' });
    expect(fence.geometry.kind).toBe('polygon');
    const ring = fence.geometry.kind === 'polygon' ? fence.geometry.ring.slice(0, -1) : [];
    const inside = {
      lon: ring.reduce((s, [lon]) => s + lon, 0) / ring.length,
      lat: ring.reduce((s, [, lat]) => s + lat, 0) / ring.length,
    };

    // Max walks in from 10 km away, then out again.
    const memberToken = await site.login('member');
    await site.api(memberToken, 'PUT', '/api/me/position-sharing', { on: true });
    const socket = io(site.server.url, { transports: ['websocket'], auth: { token: memberToken } });
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const report = (lat: number, lon: number) =>
      socket.timeout(5000).emitWithAck('position.report', {
        lat,
        lon,
        accuracy: 10,
        recordedAt: new Date().toISOString(),
      }) as Promise<{ ok: boolean }>;
    expect(await report(inside.lat + 0.09, inside.lon)).toMatchObject({ ok: true });
    await page.waitForTimeout(1100);
    expect(await report(inside.lat, inside.lon)).toMatchObject({ ok: true });
    const toast = page.getByTestId('geofence-toast').first();
    await toast.waitFor({ timeout: 10_000 });
    expect(await toast.innerText()).toContain('Max Mustermann entered Gerätehaus');
    expect(await toast.innerText()).toContain('At the station');
    await expect
      .poll(() => page.getByTestId('geofence-inside-Gerätehaus').innerText())
      .toBe('1 inside');
    const events = page.getByTestId('geofence-event');
    await expect.poll(() => events.count()).toBe(1);
    expect(await events.first().getAttribute('data-event')).toBe('entered');

    await page.waitForTimeout(1100);
    expect(await report(inside.lat + 0.09, inside.lon)).toMatchObject({ ok: true });
    await expect.poll(() => events.count()).toBe(2);
    expect(await events.first().innerText()).toContain('Max Mustermann left Gerätehaus');
    await expect
      .poll(() => page.getByTestId('geofence-inside-Gerätehaus').innerText())
      .toBe('nobody inside');
    expect(foreign).toEqual([]);
  });

  it('an admin uploads a GeoJSON layer; a broken file is refused with what to fix', async () => {
    const page = await site.open('en-US', { viewport: { width: 1280, height: 860 } });
    const foreign = watchForeign(page, site.server.url);
    await site.signIn(page, 'admin');
    const secret = (await page.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
    await page.getByTestId('totp-code').fill(totp(secret));
    await page.getByTestId('totp-confirm').click();
    await page.getByTestId('recovery-saved').click();
    await page.getByTestId('nav-map').waitFor();
    await openMap(page);

    const hydrants = {
      type: 'FeatureCollection',
      features: [
        {
          type: 'Feature',
          properties: { name: 'Hydrant Marktplatz' },
          geometry: { type: 'Point', coordinates: MUSTERSTADT },
        },
      ],
    };
    const section = page.getByTestId('map-section-overlays');
    await section.locator('summary').click();
    await page.getByTestId('overlay-file').setInputFiles({
      name: 'broken.geojson',
      mimeType: 'application/geo+json',
      buffer: Buffer.from('{"type": "FeatureCollection", "features": [ {'),
    });
    await page.getByTestId('overlay-submit').click();
    await expect
      .poll(() => page.getByTestId('overlay-error').innerText())
      .toContain('not usable GeoJSON');

    await page.getByTestId('overlay-file').setInputFiles({
      name: 'hydranten.geojson',
      mimeType: 'application/geo+json',
      buffer: Buffer.from(JSON.stringify(hydrants)),
    });
    await page.getByTestId('overlay-name').fill('Hydranten');
    await page.getByTestId('overlay-submit').click();
    await page.getByTestId('overlay-uploaded').waitFor();
    expect(await page.getByTestId('overlay-row').innerText()).toContain('Hydranten');

    const token = await page.evaluate(
      () =>
        (JSON.parse(localStorage.getItem('trupp.session')!) as { accessToken: string }).accessToken,
    );
    const [layer] = await site.api<OverlayLayer[]>(token, 'GET', '/api/overlays');
    const pointLayer = `overlay-${layer!.id}-point`;
    await expect.poll(async () => (await rendered(page, [pointLayer])).length).toBe(1);
    // Switched off, it is gone from the map; on again, it is back.
    await page.getByTestId('overlay-toggle-Hydranten').uncheck();
    await expect.poll(async () => (await rendered(page, [pointLayer])).length).toBe(0);
    await page.getByTestId('overlay-toggle-Hydranten').check();
    await expect.poll(async () => (await rendered(page, [pointLayer])).length).toBe(1);
    expect(foreign).toEqual([]);
  });
});
