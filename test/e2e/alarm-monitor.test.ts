import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, totp } from '../support/browser.ts';
import { startServer, type RunningServer } from '../support/server.ts';

/**
 * The station monitor of the alarms issue: a lead's screen shows the clock; an alarm the
 * dispatcher raises appears within seconds with its map; a member's "coming" is listed
 * live; after the alarm is closed the screen returns to the clock (?idleAfter=1).
 */
let server: RunningServer;
let browser: Browser;
let password: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  server = await startServer({ env: { NODE_ENV: 'development', DEMO_DATA: 'true' } });
  password = /Password for all of them:\s*(\S+)/.exec(server.stdout())![1]!;
  browser = await launchChromium();
});
afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await server?.stop();
});

async function open(locale: string): Promise<Page> {
  const context = await browser.newContext({ locale, viewport: { width: 1280, height: 720 } });
  contexts.push(context);
  return context.newPage();
}

async function signIn(page: Page, email: string) {
  await page.goto(server.url);
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

async function api<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

describe('the alarm monitor', () => {
  it('shows a new alarm live with map and responders, then returns to idle', async () => {
    // The dispatcher enrols TOTP at first sign-in; their session then raises the alarm.
    const dispatcher = await open('en-US');
    await signIn(dispatcher, 'dispatcher@musterstadt.example');
    const secret = (await dispatcher.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
    await dispatcher.getByTestId('totp-code').fill(totp(secret));
    await dispatcher.getByTestId('totp-confirm').click();
    await dispatcher.getByTestId('recovery-saved').click();
    await dispatcher.getByTestId('nav-dispatch').waitFor();
    const dispatcherToken = await dispatcher.evaluate(
      () =>
        (JSON.parse(localStorage.getItem('trupp.session')!) as { accessToken: string }).accessToken,
    );

    // Max answers over HTTP with his own session.
    const login = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'member@musterstadt.example', password }),
    });
    const maxToken = ((await login.json()) as { session: { accessToken: string } }).session
      .accessToken;

    // The lead opens the monitor on the station screen: nothing open, so the clock.
    const lead = await open('de-DE');
    await signIn(lead, 'lead@musterstadt.example');
    await lead.getByTestId('nav-monitor').waitFor();
    await lead.goto(`${server.url}/monitor?idleAfter=1`);
    const monitor = lead.getByTestId('monitor');
    await lead.getByTestId('monitor-idle').waitFor();
    expect(await lead.getByTestId('monitor-org').innerText()).toBe(
      'Freiwillige Feuerwehr Musterstadt',
    );
    const box = await monitor.boundingBox();
    expect(box).toMatchObject({ x: 0, y: 0, width: 1280, height: 720 });

    const board = await api<{ alarm: { id: string } }>(dispatcherToken, 'POST', '/api/alarms', {
      keyword: 'B3 – Wohnungsbrand',
      title: 'Rauch aus Fenster im 2. OG',
      text: 'Personen vermutlich im Gebäude',
      address: 'Hauptstraße 5, Musterstadt',
      location: { lat: 51.16, lon: 10.45 },
      targets: { unitIds: [], roles: ['member'], userIds: [], qualificationIds: [] },
      requirements: { minMembers: 2, qualifications: [] },
    });
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

    await api(maxToken, 'POST', `/api/me/alarms/${board.alarm.id}/response`, {
      response: 'coming',
      etaMinutes: 5,
    });
    const max = lead.locator('[data-testid="monitor-responder"][data-member="Max Mustermann"]');
    await max.waitFor({ timeout: 3000 });
    expect(await max.innerText()).toMatch(/5 min/i);
    expect(await lead.getByTestId('monitor-coming-count').innerText()).toBe('1');
    await expect.poll(() => members.innerText(), { timeout: 2000 }).toContain('1/2');

    await api(dispatcherToken, 'POST', `/api/alarms/${board.alarm.id}/close`);
    await lead.getByTestId('monitor-closed').waitFor({ timeout: 3000 });
    await lead.getByTestId('monitor-idle').waitFor({ timeout: 4000 });
    expect(await lead.getByTestId('monitor-alarm').count()).toBe(0);

    // The statistics page counts the alarm and its four recipients.
    await lead.goto(`${server.url}/alarms/statistics`);
    await lead.getByTestId('stats-alarm-row').first().waitFor();
    expect(await lead.getByTestId('stats-alarm-row').count()).toBe(1);
    expect(await lead.getByTestId('stats-alarm-row').innerText()).toContain('B3 – Wohnungsbrand');
    expect(await lead.getByTestId('stats-member-row').count()).toBe(4);
    const maxRow = lead.getByTestId('stats-member-row').filter({ hasText: 'Max Mustermann' });
    expect(await maxRow.innerText()).toMatch(/1\s+1\s+1\s+100 %/);
  });
});
