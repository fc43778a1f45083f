import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoSite } from '../support/demo.ts';

/**
 * Must show 1 of the alarms issue: the dispatcher (context 1) raises an alarm from a
 * template with a location picked on the map; a member (context 2) sees it full screen
 * and answers "coming"; the dispatcher's board shows the answer and the requirement
 * count within a second; a member who set "unavailable" (context 3) is not alerted.
 */
let site: DemoSite;

beforeAll(async () => {
  site = await startDemo();
});
afterAll(async () => site?.close());

const VIEWPORT = { viewport: { width: 1100, height: 900 } };

describe('raising an alarm in the browser', () => {
  it('reaches the member full screen; the answer is on the board within a second', async () => {
    // Context 3: Jonas (Gruppe 1) is on holiday and says so with one tap.
    const jonas = await site.open('de-DE', VIEWPORT);
    await site.signIn(jonas, 'jonas.weber');
    await jonas.getByTestId('availability-unavailable').click();
    await expect
      .poll(() => jonas.getByTestId('availability-unavailable').getAttribute('aria-checked'))
      .toBe('true');

    // Context 2: Max (Gruppe 1, Atemschutz) has the app open.
    const max = await site.open('de-DE', VIEWPORT);
    await site.signIn(max, 'member');
    await max.getByTestId('availability').waitFor();

    // Context 4: Tim (Löschzug 2, not alerted by B3) shares his position near the incident.
    const tim = await site.open('de-DE', {
      ...VIEWPORT,
      geolocation: { latitude: 51.165, longitude: 10.455, accuracy: 20 },
      permissions: ['geolocation'],
    });
    await site.signIn(tim, 'tim.becker');
    await tim.getByTestId('position-start').click();
    await tim.getByTestId('position-stop').waitFor();

    // Context 1: the dispatcher enrols TOTP at first sign-in.
    const { page: dispatcher } = await site.dispatcher('en-US', VIEWPORT);

    await dispatcher.getByTestId('nav-dispatch').click();
    // Dispatch sees who is not available before sending.
    await expect
      .poll(() => dispatcher.getByTestId('dispatch-availability').innerText(), {
        timeout: 10_000,
      })
      .toMatch(/Jonas Weber\s*Unavailable/);
    await dispatcher.getByTestId('dispatch-template-search').fill('B3');
    await dispatcher.getByTestId('dispatch-template-B3 – Wohnungsbrand').click();
    expect(await dispatcher.getByTestId('dispatch-keyword').inputValue()).toBe(
      'B3 – Wohnungsbrand',
    );
    // Location by a click on the map.
    const map = dispatcher.getByTestId('dispatch-map');
    await map.locator('canvas').waitFor();
    await map.click({ position: { x: 200, y: 130 } });
    await expect.poll(() => dispatcher.getByTestId('dispatch-lat').inputValue()).not.toBe('');
    const lat = Number(await dispatcher.getByTestId('dispatch-lat').inputValue());
    expect(lat).toBeGreaterThan(40);
    expect(lat).toBeLessThan(60);
    // The exact address is known: coordinates typed over the clicked point, and everyone
    // within 3 km who shares their position is alerted too.
    await dispatcher.getByTestId('dispatch-lat').fill('51.16');
    await dispatcher.getByTestId('dispatch-lon').fill('10.45');
    await dispatcher.getByTestId('dispatch-radius').fill('3');
    await dispatcher.getByTestId('dispatch-address').fill('Hauptstraße 5, Musterstadt');
    await dispatcher.getByTestId('dispatch-send').click();
    await dispatcher.getByTestId('alarm-board').waitFor();

    // Max gets it full screen.
    const overlay = max.getByTestId('alarm-overlay');
    await overlay.waitFor({ timeout: 5000 });
    expect(await max.getByTestId('alarm-keyword').innerText()).toBe('B3 – Wohnungsbrand');
    const box = await overlay.boundingBox();
    expect(box!.width).toBeGreaterThanOrEqual(1100 - 1);
    expect(box!.height).toBeGreaterThanOrEqual(900 - 1);
    expect(await max.getByTestId('alarm-test-banner').count()).toBe(0);

    // Before the answer the board counts nobody for Atemschutz.
    const scba = dispatcher.getByTestId('board-req-Atemschutz');
    expect(await scba.innerText()).toContain('0/2');
    const row = dispatcher.locator('[data-testid="board-row"][data-member="Max Mustermann"]');
    await row.waitFor();

    await max.getByTestId('alarm-eta-5').click();
    const answeredAt = Date.now();
    await dispatcher
      .locator('[data-testid="board-row"][data-member="Max Mustermann"][data-response="coming"]')
      .waitFor({ timeout: 1000 });
    await expect.poll(() => scba.innerText(), { timeout: 1000 }).toContain('1/2');
    expect(Date.now() - answeredAt).toBeLessThan(1000);
    expect(await dispatcher.getByTestId('board-coming').innerText()).toBe('1');
    await overlay.waitFor({ state: 'detached' });

    // Tim was alerted through the area target.
    await tim.getByTestId('alarm-overlay').waitFor({ timeout: 5000 });
    expect(
      await dispatcher.locator('[data-testid="board-row"][data-member="Tim Becker"]').count(),
    ).toBe(1);

    // Jonas was not alerted and is not on the board.
    expect(await jonas.getByTestId('alarm-overlay').count()).toBe(0);
    expect(
      await dispatcher.locator('[data-testid="board-row"][data-member="Jonas Weber"]').count(),
    ).toBe(0);
    // Max's overview lists the alarm with his answer.
    expect(await max.getByTestId('my-alarm').first().innerText()).toContain('Kommt');

    // A second alarm by a drawn area only: a triangle around the map's centre, where Tim is.
    await tim
      .getByTestId('alarm-dismiss')
      .click()
      .catch(() => undefined);
    await dispatcher.getByTestId('nav-dispatch').click();
    await dispatcher.getByTestId('dispatch-keyword').fill('Sturmschaden');
    const drawMap = dispatcher.getByTestId('dispatch-map');
    await drawMap.locator('canvas').waitFor();
    const mapBox = (await drawMap.boundingBox())!;
    await dispatcher.getByTestId('area-draw').click();
    for (const [x, y] of [
      [0.2, 0.2],
      [0.8, 0.2],
      [0.5, 0.9],
    ] as const) {
      await drawMap.click({ position: { x: mapBox.width * x, y: mapBox.height * y } });
    }
    await dispatcher.getByTestId('area-done').click();
    await dispatcher.getByTestId('dispatch-send').click();
    await dispatcher.getByTestId('alarm-board').waitFor();
    await expect
      .poll(() => dispatcher.getByTestId('board-keyword').innerText())
      .toBe('Sturmschaden');
    await expect.poll(() => dispatcher.locator('[data-testid="board-row"]').count()).toBe(1);
    expect(
      await dispatcher.locator('[data-testid="board-row"][data-member="Tim Becker"]').count(),
    ).toBe(1);
    await expect
      .poll(() => tim.getByTestId('alarm-keyword').innerText(), { timeout: 5000 })
      .toBe('Sturmschaden');

    // The weekly test alarm is planned from the same console.
    await dispatcher.getByTestId('nav-dispatch').click();
    await dispatcher.getByTestId('schedule-name').fill('Probealarm Samstag');
    await dispatcher.getByTestId('schedule-create').click();
    const planned = dispatcher.getByTestId('schedule-row');
    await planned.waitFor();
    expect(await planned.innerText()).toMatch(/Probealarm Samstag.*Sat 12:00/s);

    // Jonas is back: dispatch sees it live, without reloading.
    await jonas.getByTestId('availability-available').click();
    await expect
      .poll(() => dispatcher.getByTestId('dispatch-availability').innerText(), {
        timeout: 10_000,
      })
      .not.toContain('Jonas Weber');
  });
});
