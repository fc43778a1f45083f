import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoSite } from '../support/demo.ts';

/**
 * The service worker side of Web Push in real Chromium: a push carrying only an opaque
 * alarm id (delivered through DevTools, since no push service is reachable here — the
 * backend's encryption and VAPID are tested against a stand-in push service) makes the
 * worker fetch the content with the device's token and show a notification with the
 * alarm's keyword and answer actions.
 */
let site: DemoSite;

beforeAll(async () => {
  site = await startDemo();
});
afterAll(async () => site?.close());

describe('alarm push in the service worker', () => {
  it('shows the alarm fetched after authentication, from an id-only push, and answers from it', async () => {
    const { token } = await site.dispatcher();

    const member = await site.open('de-DE');
    await member.context().grantPermissions(['notifications'], { origin: site.server.url });
    const cdp = await member.context().newCDPSession(member);
    const registrations = new Map<string, string>();
    cdp.on('ServiceWorker.workerRegistrationUpdated', (event) => {
      for (const r of event.registrations) {
        if (!r.isDeleted) registrations.set(r.scopeURL, r.registrationId);
      }
    });
    await cdp.send('ServiceWorker.enable');
    await site.signIn(member, 'member');
    await member.getByTestId('push-settings').waitFor();
    await member.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await expect.poll(() => registrations.get(`${site.server.url}/`)).toBeTruthy();

    const raised = await fetch(`${site.server.url}/api/alarms`, {
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
      origin: site.server.url,
      registrationId: registrations.get(`${site.server.url}/`)!,
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

    // Tapping "Coming" on the notification answers from the service worker with the
    // device's token. DevTools cannot click a notification, so the worker gets the click
    // as a notificationclick event on the notification it showed.
    const [worker] = member.context().serviceWorkers();
    expect(worker).toBeTruthy();
    await worker!.evaluate(async () => {
      const scope = self as unknown as {
        registration: ServiceWorkerRegistration;
        dispatchEvent(event: Event): boolean;
      };
      const [shownNotification] = await scope.registration.getNotifications();
      const NotificationEventCtor = (
        globalThis as unknown as {
          NotificationEvent: new (type: string, init: object) => Event;
        }
      ).NotificationEvent;
      scope.dispatchEvent(
        new NotificationEventCtor('notificationclick', {
          notification: shownNotification,
          action: 'coming',
        }),
      );
    });
    await expect
      .poll(
        async () =>
          (
            await site.api<{ recipients: Array<{ displayName: string; response: string | null }> }>(
              token,
              'GET',
              `/api/alarms/${alarmId}`,
            )
          ).recipients.find((r) => r.displayName === 'Max Mustermann')?.response,
        { timeout: 5000 },
      )
      .toBe('coming');
    // The notification is gone once answered.
    await expect.poll(shown).toHaveLength(0);
  });
});
