import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoSite } from '../support/demo.ts';

/**
 * The station monitor of the alarms issue: a lead's screen shows the clock; an alarm the
 * dispatcher raises appears within seconds with its map; a member's "coming" is listed
 * live; after the alarm is closed the screen returns to the clock (?idleAfter=1).
 */
let site: DemoSite;

beforeAll(async () => {
  site = await startDemo();
});
afterAll(async () => site?.close());

const VIEWPORT = { viewport: { width: 1280, height: 720 } };

describe('the alarm monitor', () => {
  it('shows a new alarm live with map and responders, then returns to idle', async () => {
    // The dispatcher enrols TOTP at first sign-in; their session then raises the alarm.
    const { token: dispatcherToken } = await site.dispatcher();
    // Max answers over HTTP with his own session.
    const maxToken = await site.login('member');

    // The lead opens the monitor on the station screen: nothing open, so the clock.
    const lead = await site.open('de-DE', VIEWPORT);
    await site.signIn(lead, 'lead');
    await lead.getByTestId('nav-monitor').waitFor();
    await lead.goto(`${site.server.url}/monitor?idleAfter=1`);
    const monitor = lead.getByTestId('monitor');
    await lead.getByTestId('monitor-idle').waitFor();
    expect(await lead.getByTestId('monitor-org').innerText()).toBe(
      'Freiwillige Feuerwehr Musterstadt',
    );
    const box = await monitor.boundingBox();
    expect(box).toMatchObject({ x: 0, y: 0, width: 1280, height: 720 });

    const board = await site.api<{ alarm: { id: string } }>(
      dispatcherToken,
      'POST',
      '/api/alarms',
      {
        keyword: 'B3 – Wohnungsbrand',
        title: 'Rauch aus Fenster im 2. OG',
        text: 'Personen vermutlich im Gebäude',
        address: 'Hauptstraße 5, Musterstadt',
        location: { lat: 51.16, lon: 10.45 },
        targets: { unitIds: [], roles: ['member'], userIds: [], qualificationIds: [] },
        requirements: { minMembers: 2, qualifications: [] },
      },
    );
    const raisedAt = Date.now();
    const shown = lead.getByTestId('monitor-alarm');
    await shown.waitFor({ timeout: 3000 });
    expect(Date.now() - raisedAt).toBeLessThan(3000);
    expect(await shown.getAttribute('data-alarm-id')).toBe(board.alarm.id);
    expect(await lead.getByTestId('monitor-keyword').innerText()).toBe('B3 – Wohnungsbrand');
    expect(await lead.getByTestId('monitor-address').innerText()).toBe(
      'Hauptstraße 5, Musterstadt',
    );
    await lead.getByTestId('monitor-map').locator('canvas').waitFor({ timeout: 5000 });
    expect(await lead.getByTestId('monitor-test').count()).toBe(0);
    // The elapsed time ticks.
    const firstTick = await lead.getByTestId('monitor-elapsed').innerText();
    expect(firstTick).toMatch(/^\d\d:\d\d$/);
    await expect
      .poll(() => lead.getByTestId('monitor-elapsed').innerText(), { timeout: 3000 })
      .not.toBe(firstTick);
    const members = lead.getByTestId('monitor-req-members');
    expect(await members.innerText()).toContain('0/2');

    await site.api(maxToken, 'POST', `/api/me/alarms/${board.alarm.id}/response`, {
      response: 'coming',
      etaMinutes: 5,
    });
    const max = lead.locator('[data-testid="monitor-responder"][data-member="Max Mustermann"]');
    await max.waitFor({ timeout: 3000 });
    expect(await max.innerText()).toMatch(/5 min/i);
    expect(await lead.getByTestId('monitor-coming-count').innerText()).toBe('1');
    await expect.poll(() => members.innerText(), { timeout: 2000 }).toContain('1/2');

    await site.api(dispatcherToken, 'POST', `/api/alarms/${board.alarm.id}/close`);
    await lead.getByTestId('monitor-closed').waitFor({ timeout: 3000 });
    await lead.getByTestId('monitor-idle').waitFor({ timeout: 4000 });
    expect(await lead.getByTestId('monitor-alarm').count()).toBe(0);

    // The statistics page counts the alarm and its four recipients.
    await lead.goto(`${site.server.url}/alarms/statistics`);
    await lead.getByTestId('stats-alarm-row').first().waitFor();
    expect(await lead.getByTestId('stats-alarm-row').count()).toBe(1);
    expect(await lead.getByTestId('stats-alarm-row').innerText()).toContain('B3 – Wohnungsbrand');
    expect(await lead.getByTestId('stats-member-row').count()).toBe(4);
    const maxRow = lead.getByTestId('stats-member-row').filter({ hasText: 'Max Mustermann' });
    expect(await maxRow.innerText()).toMatch(/1\s+1\s+1\s+100 %/);
  });
});
