import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { io, type Socket } from 'socket.io-client';
import { startDemo, type DemoSite } from '../support/demo.ts';
import { repoRoot } from '../support/server.ts';

/**
 * The map renders the embedded basemap in real Chromium (WebGL through SwiftShader) and
 * the page requests nothing from any other origin.
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

/** How many pixels are within a small distance of a colour. */
function countColour(png: PNG, hex: string): number {
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
  return n;
}

describe('map', () => {
  it('shows land and sea and members moving live, from our own server only', async () => {
    const server = site.server;
    const page = await site.open('en-US', { viewport: { width: 1200, height: 800 } });
    await page.addInitScript(() => window.localStorage.setItem('trupp.mapTestHooks', '1'));
    const foreign: string[] = [];
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(server.url) && !url.startsWith('data:') && !url.startsWith('blob:'))
        foreign.push(url);
    });
    const ranges: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/tiles/basemap.pmtiles'))
        ranges.push(request.headers().range ?? 'none');
    });

    await site.signIn(page, 'lead');
    await page.getByTestId('nav-map').click();
    await page.locator('[data-testid="map"][data-loaded="true"]').waitFor({ timeout: 30_000 });

    const shot = await page.getByTestId('map').screenshot();
    mkdirSync(join(repoRoot, 'test/artifacts'), { recursive: true });
    writeFileSync(join(repoRoot, 'test/artifacts/map.png'), shot);
    const png = PNG.sync.read(shot);
    const total = png.width * png.height;
    // Centred on Germany at zoom 4.5: plenty of land and plenty of sea (North Sea, Baltic, Atlantic).
    expect(countColour(png, '#f1eee6') / total).toBeGreaterThan(0.3);
    expect(countColour(png, '#a9cde6') / total).toBeGreaterThan(0.05);

    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.every((r) => r.startsWith('bytes='))).toBe(true);
    expect(foreign).toEqual([]);

    // Three members share their positions; the lead sees them move live. Markers are
    // WebGL: the map says which it drew where (test hooks), the pixels there must change.
    const members = [];
    for (const [i, local] of ['member', 'jonas.weber', 'sophie.wagner'].entries()) {
      const token = await site.login(local);
      await site.api(token, 'PUT', '/api/me/position-sharing', { on: true });
      const { id } = await site.api<{ id: string }>(token, 'GET', '/api/me');
      const socket = io(server.url, { transports: ['websocket'], auth: { token } });
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      sockets.push(socket);
      const report = (lat: number, lon: number) =>
        socket.timeout(5000).emitWithAck('position.report', {
          lat,
          lon,
          accuracy: 15,
          recordedAt: new Date().toISOString(),
        }) as Promise<{ ok: boolean }>;
      members.push({ id, token, report, base: { lat: 50 + i * 1.5, lon: 8 + i * 2 } });
    }
    for (const m of members)
      expect(await m.report(m.base.lat, m.base.lon)).toMatchObject({ ok: true });
    const dots = () =>
      page.evaluate(() =>
        (
          window as unknown as {
            __truppMap: {
              rendered(layers: string[]): Array<{
                properties: Record<string, unknown>;
                point: { x: number; y: number };
              }>;
            };
          }
        ).__truppMap.rendered(['members-dot']),
      );
    const dotOf = async (userId: string) =>
      (await dots()).find((d) => d.properties.userId === userId)?.point ?? null;
    await expect.poll(async () => (await dots()).length, { timeout: 10_000 }).toBe(3);
    await expect.poll(() => page.getByTestId('map-sharing').innerText()).toContain('3');
    const max = members[0]!;
    const before = (await dotOf(max.id))!;
    const pngBefore = PNG.sync.read(await page.getByTestId('map').screenshot());
    await new Promise((r) => setTimeout(r, 1100));
    // South-west, away from the others (so he does not join a cluster).
    expect(await max.report(max.base.lat - 1.5, max.base.lon - 2)).toMatchObject({ ok: true });
    await expect
      .poll(
        async () => {
          const after = await dotOf(max.id);
          return after ? Math.hypot(after.x - before.x, after.y - before.y) : 0;
        },
        { timeout: 10_000 },
      )
      .toBeGreaterThan(20);
    const after = (await dotOf(max.id))!;
    const shotAfter = await page.getByTestId('map').screenshot();
    writeFileSync(join(repoRoot, 'test/artifacts/map-members.png'), shotAfter);
    const pngAfter = PNG.sync.read(shotAfter);
    const rgb = (png: PNG, at: { x: number; y: number }) => {
      const i = (Math.round(at.y) * png.width + Math.round(at.x)) * 4;
      return [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
    };
    const differs = (a: number[], b: number[]) =>
      a.reduce((d, c, i) => d + Math.abs(c - b[i]!), 0) > 60;
    // Where he was, the marker is gone; where he is now, it appeared.
    expect(differs(rgb(pngBefore, before), rgb(pngAfter, before))).toBe(true);
    expect(differs(rgb(pngBefore, after), rgb(pngAfter, after))).toBe(true);
    // Stopping sharing removes the marker at once.
    await site.api(members[2]!.token, 'PUT', '/api/me/position-sharing', { on: false });
    await expect.poll(async () => (await dots()).length, { timeout: 10_000 }).toBe(2);
    expect(foreign).toEqual([]);
  });
});
