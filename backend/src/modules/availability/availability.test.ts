import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlarmBoard } from '@trupp/shared';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import { apiAs, createDeviceSession, createTenant, createUser } from '../../test/factories.ts';

let h: TestApp;
beforeAll(async () => {
  h = await createTestApp();
});
afterAll(async () => h?.close());

describe('availability', () => {
  it('a weekly plan keeps a member from being alerted; a tap overrides it for a while', async () => {
    const db = h.db.database.db;
    const tenant = await createTenant(db);
    const member = await createUser(db, tenant.id, { displayName: 'Schichtarbeiterin' });
    const me = apiAs(h.app, (await createDeviceSession(db, member)).accessToken);
    const dispatcher = await createUser(db, tenant.id, { role: 'dispatcher' });
    const dispatch = apiAs(h.app, (await createDeviceSession(db, dispatcher)).accessToken);

    const always = { weekdays: [0, 1, 2, 3, 4, 5, 6], from: '00:00', to: '23:59' };
    const planned = await me('PUT', '/api/me/availability/schedule', {
      windows: [{ ...always, status: 'unavailable' }],
    });
    expect(planned.json()).toMatchObject({ status: 'unavailable', manual: null });
    const skipped = await dispatch('POST', '/api/alarms', {
      keyword: 'B1',
      targets: { userIds: [member.id] },
    });
    expect(skipped.json()).toMatchObject({ code: 'ALARM_NO_RECIPIENTS' });

    // One tap: available now, despite the plan, for 12 hours.
    const tapped = await me('PUT', '/api/me/availability', { status: 'available' });
    const body = tapped.json<{ status: string; manual: { until: string } }>();
    expect(body.status).toBe('available');
    const hours = (new Date(body.manual.until).getTime() - Date.now()) / 3600_000;
    expect(hours).toBeGreaterThan(11.9);
    expect(hours).toBeLessThanOrEqual(12);
    const alerted = await dispatch('POST', '/api/alarms', {
      keyword: 'B1',
      targets: { userIds: [member.id] },
    });
    expect(alerted.json<AlarmBoard>().totals.recipients).toBe(1);

    const list = (await dispatch('GET', '/api/availability')).json<Array<{ userId: string }>>();
    expect(list.find((a) => a.userId === member.id)).toMatchObject({ status: 'available' });
    expect((await me('GET', '/api/availability')).statusCode).toBe(403);
  });

  it('refuses malformed plans', async () => {
    const db = h.db.database.db;
    const tenant = await createTenant(db);
    const me = apiAs(
      h.app,
      (await createDeviceSession(db, await createUser(db, tenant.id))).accessToken,
    );
    for (const window of [
      { weekdays: [7], from: '07:00', to: '17:00', status: 'unavailable' },
      { weekdays: [1], from: '7:00', to: '17:00', status: 'unavailable' },
      { weekdays: [1], from: '07:00', to: '17:00', status: 'available' },
      { weekdays: [], from: '07:00', to: '17:00', status: 'limited' },
    ]) {
      const res = await me('PUT', '/api/me/availability/schedule', { windows: [window] });
      expect(res.statusCode, JSON.stringify(window)).toBe(400);
    }
  });
});
