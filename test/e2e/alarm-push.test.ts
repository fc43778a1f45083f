import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, totp } from '../support/browser.ts';
import { startServer, type RunningServer } from '../support/server.ts';

/**
 * The service worker side of Web Push in real Chromium: a push carrying only an opaque
 * alarm id (delivered through DevTools, since no push service is reachable here — the
 * backend's encryption and VAPID are tested against a stand-in push service) makes the
 * worker fetch the content with the device's token and show a notification with the
 * alarm's keyword and answer actions.
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
  const context = await browser.newContext({ locale });
  contexts.push(context);
  return context.newPage();
}

async function signIn(page: Page, email: string) {
  await page.goto(server.url);
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

describe('alarm push in the service worker', () => {
  it('shows the alarm fetched after authentication, from an id-only push', async () => {
    const dispatcher = await open('en-US');
    await signIn(dispatcher, 'dispatcher@musterstadt.example');
    const secret = (await dispatcher.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
    await dispatcher.getByTestId('totp-code').fill(totp(secret));
    await dispatcher.getByTestId('totp-confirm').click();
    await dispatcher.getByTestId('recovery-saved').click();
    await dispatcher.getByTestId('nav-dispatch').waitFor();
    const token = await dispatcher.evaluate(
      () =>
        (JSON.parse(localStorage.getItem('trupp.session')!) as { accessToken: string }).accessToken,
    );

    const member = await open('de-DE');
    await member.context().grantPermissions(['notifications'], { origin: server.url });
    const cdp = await member.context().newCDPSession(member);
    const registrations = new Map<string, string>();
    cdp.on('ServiceWorker.workerRegistrationUpdated', (event) => {
      for (const r of event.registrations) {
        if (!r.isDeleted) registrations.set(r.scopeURL, r.registrationId);
      }
    });
    await cdp.send('ServiceWorker.enable');
    await signIn(member, 'member@musterstadt.example');
    await member.getByTestId('push-settings').waitFor();
    await member.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await expect.poll(() => registrations.get(`${server.url}/`)).toBeTruthy();

    const raised = await fetch(`${server.url}/api/alarms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        keyword: 'THL 1 – Verkehrsunfall',
        title: 'Person eingeklemmt',
        address: 'B 27, Abfahrt Nord',
        targets: { unitIds: [], roles: ['member'], userIds: [], qualificationIds: [] },
      }),
    });
    const alarmId = ((await raised.json()) as { alarm: { id: string } }).alarm.id;

    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.url,
      registrationId: registrations.get(`${server.url}/`)!,
      data: JSON.stringify({ type: 'alarm', id: alarmId }),
    });
    const shown = async () =>
      member.evaluate(async () => {
        const registration = await navigator.serviceWorker.getRegistration();
        const list = (await registration?.getNotifications()) ?? [];
        return list.map((n) => ({
          title: n.title,
          body: n.body,
          tag: n.tag,
          actions: (n as Notification & { actions?: Array<{ action: string }> }).actions?.map(
            (a) => a.action,
          ),
        }));
      });
    await expect.poll(shown, { timeout: 5000 }).toHaveLength(1);
    const [notification] = await shown();
    expect(notification).toMatchObject({
      title: 'THL 1 – Verkehrsunfall',
      tag: `alarm-${alarmId}`,
      actions: ['coming', 'not_coming'],
    });
    expect(notification!.body).toContain('Person eingeklemmt');
  });
});
