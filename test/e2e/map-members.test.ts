import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { io, type Socket } from 'socket.io-client';
import { startDemo, type DemoSite } from '../support/demo.ts';
import { repoRoot } from '../support/server.ts';

/**
 * The member side of the dispatch map in real Chromium (WebGL): clusters with counts when
 * zoomed out, coloured markers with their labels, unit filters, the details card with
 * distance to the incident and "Talk" (push-to-talk on a channel both share), track
 * replay with a time slider, and the GeoJSON download — all from our own origin.
 * Markers are WebGL, so the test asks the map which features it rendered where
 * (`window.__truppMap`, present only with the test flag) and checks pixels there.
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

/** `window.__truppMap` of the web app (webapp/src/map/test-hooks.ts). */
interface MapHooks {
  rendered(layers: string[]): Rendered[];
  jumpTo(center: [number, number], zoom: number): Promise<void>;
  zoom(): number;
}
type HookedWindow = { __truppMap: MapHooks };

const rendered = (page: Page, layers: string[]) =>
  page.evaluate((ids) => (window as unknown as HookedWindow).__truppMap.rendered(ids), layers);

/** Musterstadt: three members about 2 km apart, one cluster at country zoom. */
const PLACES = {
  member: { lat: 51.16, lon: 10.45 },
  'jonas.weber': { lat: 51.175, lon: 10.47 },
  'sophie.wagner': { lat: 51.15, lon: 10.43 },
} as const;
const INCIDENT = { lat: 51.2, lon: 10.5 };

/** Live updates and list reloads take a moment; WebGL frames too. */
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 10_000 });

function pixel(png: PNG, x: number, y: number): [number, number, number] {
  const i = (Math.round(y) * png.width + Math.round(x)) * 4;
  return [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
}
function near(rgb: [number, number, number], hex: string, tolerance = 40): boolean {
  const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return rgb.reduce((d, c, i) => d + Math.abs(c - want[i]!), 0) < tolerance;
}

describe('dispatch map: members', () => {
  it('clusters, labels, filters, shows details, replays a track, exports and opens push-to-talk, from our own server only', async () => {
    const server = site.server;
    const page = await site.open('en-US', { viewport: { width: 1280, height: 860 } });
    await page.addInitScript(() => window.localStorage.setItem('trupp.mapTestHooks', '1'));
    const foreign: string[] = [];
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(server.url) && !url.startsWith('data:') && !url.startsWith('blob:'))
        foreign.push(url);
    });

    await site.signIn(page, 'lead');
    await page.getByTestId('nav-map').click();
    await page.locator('[data-testid="map"][data-loaded="true"]').waitFor({ timeout: 30_000 });
    // Nobody shares yet: the map says so instead of looking broken.
    await page.getByTestId('map-empty').waitFor();
    expect(await page.getByTestId('map-empty').innerText()).toContain('No one is sharing');

    // Three members share; Max walks east with a heading, so he has a track.
    // One after another: what is tested here is the map, not concurrent sign-ins.
    const members = [];
    for (const local of Object.keys(PLACES) as Array<keyof typeof PLACES>) {
      const token = await site.login(local);
      await site.api(token, 'PUT', '/api/me/position-sharing', { on: true });
      const socket = io(server.url, { transports: ['websocket'], auth: { token } });
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      sockets.push(socket);
      const me = await site.api<{ id: string }>(token, 'GET', '/api/me');
      const report = (at: { lat: number; lon: number }, heading?: number) =>
        socket.timeout(5000).emitWithAck('position.report', {
          ...at,
          accuracy: 30,
          ...(heading === undefined ? {} : { heading, speed: 1.5 }),
          recordedAt: new Date().toISOString(),
        }) as Promise<{ ok: boolean; data?: { stored: boolean } }>;
      members.push({ local, token, id: me.id, report });
    }
    const [max, jonas, sophie] = members;
    for (let step = 0; step < 3; step += 1) {
      if (step > 0) await new Promise((r) => setTimeout(r, 1100));
      const at = { lat: PLACES.member.lat, lon: PLACES.member.lon - 0.02 + step * 0.01 };
      expect(await max!.report(at, 90)).toMatchObject({ ok: true, data: { stored: true } });
    }
    expect(await jonas!.report(PLACES['jonas.weber'])).toMatchObject({ ok: true });
    expect(await sophie!.report(PLACES['sophie.wagner'])).toMatchObject({ ok: true });
    await poll(() => page.getByTestId('map-sharing').innerText()).toContain('3 members');
    await poll(() => page.getByTestId('map-empty').count()).toBe(0);

    // Zoomed out over Germany the three are one cluster with the count 3.
    await expect
      .poll(async () =>
        (await rendered(page, ['members-clusters'])).map((f) => f.properties.point_count),
      )
      .toEqual([3]);
    await poll(async () => (await rendered(page, ['members-cluster-count'])).length).toBe(1);
    expect(await rendered(page, ['members-dot'])).toHaveLength(0);
    const mapBox = (await page.getByTestId('map').boundingBox())!;
    const [cluster] = await rendered(page, ['members-clusters']);
    const shot = PNG.sync.read(await page.getByTestId('map').screenshot());
    // The bubble is dark; its middle carries the white count.
    expect(near(pixel(shot, cluster!.point!.x - 13, cluster!.point!.y), '#263238')).toBe(true);
    mkdirSync(join(repoRoot, 'test/artifacts'), { recursive: true });
    writeFileSync(join(repoRoot, 'test/artifacts/map-cluster.png'), PNG.sync.write(shot));

    // A click on the cluster zooms in.
    const zoomBefore = await page.evaluate(() =>
      (window as unknown as HookedWindow).__truppMap.zoom(),
    );
    await page.mouse.click(mapBox.x + cluster!.point!.x, mapBox.y + cluster!.point!.y);
    await expect
      .poll(() => page.evaluate(() => (window as unknown as HookedWindow).__truppMap.zoom()))
      .toBeGreaterThan(zoomBefore + 2);

    // Close in, every member is a dot with a label, Max with his heading arrow.
    await page.evaluate(() =>
      (window as unknown as HookedWindow).__truppMap.jumpTo([10.45, 51.165], 12),
    );
    await expect
      .poll(async () =>
        (await rendered(page, ['members-dot'])).map((f) => f.properties.userId).sort(),
      )
      .toEqual([max!.id, jonas!.id, sophie!.id].sort());
    // Each dot carries its label (name, unit · fix age), an image drawn when the map asks
    // for it: placed on the map a frame or two after the dots.
    expect(
      (await rendered(page, ['members-dot'])).map((f) => String(f.properties.labelImage)),
    ).toContainEqual(expect.stringContaining('Max Mustermann\nGruppe 1'));
    await expect
      .poll(async () =>
        (await rendered(page, ['members-label'])).map((f) => f.properties.userId).sort(),
      )
      .toEqual([max!.id, jonas!.id, sophie!.id].sort());
    expect((await rendered(page, ['members-heading'])).map((f) => f.properties.userId)).toEqual([
      max!.id,
    ]);
    expect((await rendered(page, ['members-accuracy'])).length).toBe(3);
    const dotOf = async (userId: string) =>
      (await rendered(page, ['members-dot'])).find((f) => f.properties.userId === userId)!.point!;
    let maxDot = await dotOf(max!.id);
    let png = PNG.sync.read(await page.getByTestId('map').screenshot());
    expect(near(pixel(png, maxDot.x, maxDot.y), '#1565c0')).toBe(true); // available: blue
    // The label is on screen: a white box right of the dot (the bare land there is beige,
    // #f1eee6, too far from white to pass), with dark text in it.
    const jonasDot = await dotOf(jonas!.id);
    expect(near(pixel(png, jonasDot.x + 27, jonasDot.y), '#ffffff', 20)).toBe(true);
    let ink = 0;
    for (let x = jonasDot.x + 30; x < jonasDot.x + 90; x += 1) {
      for (let y = jonasDot.y - 16; y < jonasDot.y + 16; y += 1) {
        if (pixel(png, x, y).every((c) => c < 100)) ink += 1;
      }
    }
    expect(ink).toBeGreaterThan(30);

    // Filter out Gruppe 1 (Max and Jonas): only Sophie (Gruppe 2) stays on the map.
    await page.getByTestId('map-panel-toggle').click();
    const units = page.getByTestId('map-filter-units');
    await units.locator('label', { hasText: 'Gruppe 1' }).locator('input').uncheck();
    await expect
      .poll(async () => (await rendered(page, ['members-dot'])).map((f) => f.properties.userId))
      .toEqual([sophie!.id]);
    expect(await page.getByTestId('map-sharing').innerText()).toContain('1 shown');
    png = PNG.sync.read(await page.getByTestId('map').screenshot());
    expect(near(pixel(png, maxDot.x, maxDot.y), '#1565c0')).toBe(false);
    await units.locator('label', { hasText: 'Gruppe 1' }).locator('input').check();
    await poll(async () => (await rendered(page, ['members-dot'])).length).toBe(3);

    // Dispatch raises an alarm with a location; Max answers "coming": green, with distance.
    const { token: dispatchToken } = await site.dispatcher();
    const board = await site.api<{ alarm: { id: string } }>(dispatchToken, 'POST', '/api/alarms', {
      keyword: 'B3',
      title: 'Brand Scheune',
      location: INCIDENT,
      targets: { userIds: [max!.id, jonas!.id] },
      allHands: true,
    });
    await site.api(max!.token, 'POST', `/api/me/alarms/${board.alarm.id}/response`, {
      response: 'coming',
      etaMinutes: 8,
    });
    await poll(async () => (await rendered(page, ['incidents-dot'])).length).toBe(1);
    await expect
      .poll(async () => {
        const statuses = Object.fromEntries(
          (await rendered(page, ['members-dot'])).map((f) => [
            f.properties.userId,
            f.properties.status,
          ]),
        );
        return [statuses[max!.id], statuses[jonas!.id], statuses[sophie!.id]];
      })
      .toEqual(['coming', 'no_answer', 'available']);
    maxDot = await dotOf(max!.id);
    png = PNG.sync.read(await page.getByTestId('map').screenshot());
    expect(near(pixel(png, maxDot.x, maxDot.y), '#2e7d32')).toBe(true);
    writeFileSync(join(repoRoot, 'test/artifacts/map-members-status.png'), PNG.sync.write(png));

    // A click on Max opens his card.
    await page.mouse.click(mapBox.x + maxDot.x, mapBox.y + maxDot.y);
    const card = page.getByTestId('map-member-card');
    await card.waitFor();
    expect(await page.getByTestId('map-member-name').innerText()).toBe('Max Mustermann');
    expect(await page.getByTestId('map-member-units').innerText()).toBe('Gruppe 1');
    expect(await page.getByTestId('map-member-status').innerText()).toContain('Coming');
    expect(await page.getByTestId('map-member-status').innerText()).toContain('8 min');
    expect(await page.getByTestId('map-member-age').innerText()).toMatch(/\d+ s ago/);
    // Max is at 10.45, 51.16; the incident at 10.5, 51.2: about 5.7 km, 9 min at 40 km/h.
    const distance = await page.getByTestId('map-member-distance').innerText();
    expect(distance).toMatch(/5\.[6-8] km/);
    expect(distance).toContain('9 min at 40 km/h');
    expect(await card.getByTestId('map-member-talk').innerText()).toBe('Talk');
    expect(await card.getByTestId('map-member-chat').innerText()).toBe('Chat');

    // Replay Max's track: the slider moves his marker along the stored path.
    await new Promise((r) => setTimeout(r, 2500)); // track points are written in batches
    await page.getByTestId('map-member-replay').click();
    const slider = page.getByTestId('map-replay-slider');
    await slider.waitFor();
    await poll(async () => (await rendered(page, ['members-dot'])).length).toBe(0);
    const setSlider = (to: 'min' | 'max') =>
      slider.evaluate((el: HTMLInputElement, end) => {
        el.value = end === 'min' ? el.min : el.max;
        el.dispatchEvent(new Event('input', { bubbles: true }));
      }, to);
    const head = async () => (await rendered(page, ['replay-head']))[0]?.point ?? null;
    await setSlider('min');
    await poll(head).not.toBeNull();
    const start = (await head())!;
    await setSlider('max');
    await expect
      .poll(async () => {
        const end = await head();
        return end ? end.x - start.x : 0;
      })
      .toBeGreaterThan(60); // 0.02° of longitude ≈ 1.4 km ≈ 115 px at zoom 12, eastwards
    expect((await rendered(page, ['replay-path'])).length).toBe(1);
    // Play runs the clock from the start again.
    await setSlider('min');
    const clockBefore = await page.getByTestId('map-replay-clock').innerText();
    await page.getByTestId('map-replay-rate').selectOption('10');
    await page.getByTestId('map-replay-play').click();
    await poll(() => page.getByTestId('map-replay-clock').innerText()).not.toBe(clockBefore);
    await page.getByTestId('map-replay-back').click();
    await poll(async () => (await rendered(page, ['members-dot'])).length).toBe(3);
    expect(await rendered(page, ['replay-head'])).toHaveLength(0);

    // Current positions as GeoJSON.
    await page.getByTestId('map-section-downloads').locator('summary').click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('map-download-positions').click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^trupp-positions-.*\.geojson$/);
    const geo = JSON.parse(readFileSync((await download.path())!, 'utf8')) as {
      features: Array<{ properties: { name: string; response: string | null } }>;
    };
    expect(geo.features.map((f) => f.properties.name).sort()).toEqual([
      'Jonas Weber',
      'Max Mustermann',
      'Sophie Wagner',
    ]);
    expect(
      geo.features.find((f) => f.properties.name === 'Max Mustermann')!.properties.response,
    ).toBe('coming');

    // "Talk" on Max's card opens push-to-talk on the first channel dispatch shares with
    // him: Löschzug 1 (he is in Gruppe 1 below it), not "A Löschzug 2", listed first.
    const unitList = await site.api<Array<{ id: string; name: string }>>(
      dispatchToken,
      'GET',
      '/api/units',
    );
    const channelFor = (name: string, unit: string) =>
      site.api<{ id: string }>(dispatchToken, 'POST', '/api/ptt/channels', {
        name,
        members: { unitIds: [unitList.find((u) => u.name === unit)!.id], roles: [], userIds: [] },
      });
    await channelFor('A Löschzug 2', 'Löschzug 2');
    const shared = await channelFor('Löschzug 1 Funk', 'Löschzug 1');
    maxDot = await dotOf(max!.id);
    await page.mouse.click(mapBox.x + maxDot.x, mapBox.y + maxDot.y);
    await card.getByTestId('map-member-talk').click();
    await page.waitForURL(/\/ptt\?/);
    const talkUrl = new URL(page.url());
    expect(talkUrl.searchParams.get('channel')).toBe(shared.id);
    expect(talkUrl.searchParams.get('with')).toBe('Max Mustermann');
    await poll(() => page.getByTestId('ptt-panel').getAttribute('data-channel-name')).toBe(
      'Löschzug 1 Funk',
    );
    expect(await page.getByTestId('ptt-talk-to').innerText()).toBe(
      'To reach Max Mustermann: Löschzug 1 Funk is a channel you share.',
    );

    // "Chat" on the card opens the lead's 1:1 conversation with Max, made if there is none.
    await page.goBack();
    await page.getByTestId('map').waitFor();
    await page.evaluate(() =>
      (window as unknown as HookedWindow).__truppMap.jumpTo([10.45, 51.165], 12),
    );
    await poll(async () => (await rendered(page, ['members-dot'])).length).toBe(3);
    maxDot = await dotOf(max!.id);
    await page.mouse.click(mapBox.x + maxDot.x, mapBox.y + maxDot.y);
    await card.getByTestId('map-member-chat').click();
    await page.waitForURL(/\/chat\/[0-9a-f-]{36}$/);
    const conversationId = new URL(page.url()).pathname.split('/').pop()!;
    const conversations = await site.api<
      Array<{ id: string; kind: string; members: Array<{ userId: string }> }>
    >(await site.login('lead'), 'GET', '/api/chat/conversations');
    const direct = conversations.find((c) => c.id === conversationId);
    expect(direct?.kind).toBe('direct');
    expect(direct?.members.map((m) => m.userId)).toContain(max!.id);

    expect(foreign).toEqual([]);
  }, 300_000);
});
