import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startDemo, type DemoSite } from '../support/demo.ts';

/**
 * The field view's position card in real Chromium: it always says whether and why the
 * member shares. Answering an alarm "coming" starts sharing by itself (the browser's
 * position reaches dispatch), the card names the alarm as the reason, and one tap on
 * stop ends it — dispatch no longer lists the member.
 */
let site: DemoSite;

beforeAll(async () => {
  site = await startDemo();
});
afterAll(async () => site?.close());

const card = (page: Page) => page.getByTestId('position-sharing');

describe('position sharing in the field view', () => {
  it('shows why it shares, starts with a "coming" answer and stops with one tap', async () => {
    const max = await site.open('en-US', {
      viewport: { width: 420, height: 900 },
      geolocation: { latitude: 51.165, longitude: 10.455, accuracy: 20 },
      permissions: ['geolocation'],
    });
    await site.signIn(max, 'member');
    await card(max).waitFor();
    expect(await card(max).getAttribute('data-sharing')).toBe('false');
    expect(await max.getByTestId('position-status').innerText()).toContain('Not shared');

    const lead = await site.login('lead');
    const memberToken = await site.login('member');
    const me = await site.api<{ id: string }>(memberToken, 'GET', '/api/me');
    const listed = async () =>
      (await site.api<Array<{ userId: string }>>(lead, 'GET', '/api/positions')).map(
        (p) => p.userId,
      );
    expect(await listed()).not.toContain(me.id);

    const { token: dispatcher } = await site.dispatcher();
    const board = await site.api<{ alarm: { id: string } }>(dispatcher, 'POST', '/api/alarms', {
      keyword: 'B2',
      title: 'Kleinbrand',
      location: { lat: 51.16, lon: 10.45 },
      targets: { userIds: [me.id] },
      allHands: true,
    });
    await max.getByTestId('alarm-overlay').waitFor({ timeout: 10_000 });
    await max.getByTestId('alarm-eta-5').click();

    // The card names the reason and the browser's position reaches dispatch.
    await expect
      .poll(() => card(max).getAttribute('data-reason'), { timeout: 10_000 })
      .toBe('alarm');
    expect(await max.getByTestId('position-status').innerText()).toContain(
      'on your way to an alarm',
    );
    await expect.poll(listed, { timeout: 10_000 }).toContain(me.id);

    // One tap stops it, for this alarm too.
    // The overlay closes after the answer (or is dismissed), uncovering the card.
    await max
      .getByTestId('alarm-dismiss')
      .click({ timeout: 2000 })
      .catch(() => undefined);
    await max.getByTestId('position-stop').click();
    await expect.poll(() => card(max).getAttribute('data-sharing')).toBe('false');
    expect(await max.getByTestId('position-status').innerText()).toContain('You stopped sharing');
    await expect.poll(listed).not.toContain(me.id);
    await site.api(dispatcher, 'POST', `/api/alarms/${board.alarm.id}/close`);
  });
});
