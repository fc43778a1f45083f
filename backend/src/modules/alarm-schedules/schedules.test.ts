import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { alarms } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUnit,
  createUser,
} from '../../test/factories.ts';
import { nextRun } from './next-run.ts';
import { runSchedules } from './service.ts';

describe('nextRun', () => {
  it('fires Saturday 12:00 Berlin time in winter and in summer', () => {
    // Tuesday 1 Dec 2026, 14:00 UTC → Saturday 5 Dec 12:00 CET = 11:00 UTC.
    expect(nextRun([6], '12:00', 'Europe/Berlin', new Date('2026-12-01T14:00:00Z'))).toEqual(
      new Date('2026-12-05T11:00:00Z'),
    );
    // In summer (CEST, UTC+2) the same wall-clock time is 10:00 UTC.
    expect(nextRun([6], '12:00', 'Europe/Berlin', new Date('2026-07-01T00:00:00Z'))).toEqual(
      new Date('2026-07-04T10:00:00Z'),
    );
    // Across the change to summer time (29 March 2026): still 12:00 local.
    expect(nextRun([0], '12:00', 'Europe/Berlin', new Date('2026-03-28T12:00:00Z'))).toEqual(
      new Date('2026-03-29T10:00:00Z'),
    );
  });

  it('never returns the moment itself, and picks the nearest weekday', () => {
    const at = new Date('2026-12-05T11:00:00Z'); // Saturday 12:00 Berlin
    expect(nextRun([6], '12:00', 'Europe/Berlin', at)).toEqual(new Date('2026-12-12T11:00:00Z'));
    expect(nextRun([1, 6], '12:00', 'Europe/Berlin', at)).toEqual(new Date('2026-12-07T11:00:00Z'));
    expect(nextRun([], '12:00', 'Europe/Berlin', at)).toBeNull();
  });
});

describe('scheduled alarms', () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await createTestApp();
  });
  afterAll(async () => h?.close());

  it('raises the weekly test alarm once when due, marked as a test', async () => {
    const db = h.db.database.db;
    const tenant = await createTenant(db);
    const unit = await createUnit(db, tenant.id);
    await createUser(db, tenant.id, { unitIds: [unit.id] });
    const dispatcher = await createUser(db, tenant.id, { role: 'dispatcher' });
    const api = apiAs(h.app, (await createDeviceSession(db, dispatcher)).accessToken);
    const template = (
      await api('POST', '/api/alarm-templates', {
        keyword: 'Probealarm',
        title: 'Wöchentlicher Probealarm',
        priority: 'normal',
        targets: { unitIds: [unit.id] },
      })
    ).json<{ id: string }>();
    const created = await api('POST', '/api/alarm-schedules', {
      templateId: template.id,
      name: 'Samstag 12 Uhr',
      weekdays: [6],
      time: '12:00',
    });
    expect(created.statusCode).toBe(201);
    const schedule = created.json<{ id: string; nextRunAt: string; isTest: boolean }>();
    expect(schedule.isTest).toBe(true);
    expect(new Date(schedule.nextRunAt).getUTCDay()).toBe(6);

    const due = new Date(new Date(schedule.nextRunAt).getTime() + 1000);
    // Two nodes looking at the same moment raise it once.
    const [a, b] = await Promise.all([runSchedules(h.app, due), runSchedules(h.app, due)]);
    expect(a + b).toBe(1);
    expect(await runSchedules(h.app, due)).toBe(0);
    const raised = await db.select().from(alarms).where(eq(alarms.tenantId, tenant.id));
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ keyword: 'Probealarm', isTest: true, source: 'schedule' });
    const [after] = (await api('GET', '/api/alarm-schedules')).json<
      Array<{ nextRunAt: string; lastRunAt: string }>
    >();
    expect(new Date(after!.nextRunAt).getTime() - new Date(schedule.nextRunAt).getTime()).toBe(
      7 * 86_400_000,
    );
  });

  it('refuses bad times, weekdays and another tenant’s template', async () => {
    const db = h.db.database.db;
    const tenant = await createTenant(db);
    const other = await createTenant(db);
    const otherDispatcher = await createUser(db, other.id, { role: 'dispatcher' });
    const otherApi = apiAs(h.app, (await createDeviceSession(db, otherDispatcher)).accessToken);
    const unit = await createUnit(db, other.id);
    const foreign = (
      await otherApi('POST', '/api/alarm-templates', {
        keyword: 'X',
        title: 'X',
        priority: 'normal',
        targets: { unitIds: [unit.id] },
      })
    ).json<{ id: string }>();
    const dispatcher = await createUser(db, tenant.id, { role: 'dispatcher' });
    const api = apiAs(h.app, (await createDeviceSession(db, dispatcher)).accessToken);
    const base = { templateId: foreign.id, name: 'x', weekdays: [6], time: '12:00' };
    expect((await api('POST', '/api/alarm-schedules', base)).json()).toMatchObject({
      code: 'ALARM_TEMPLATE_NOT_FOUND',
    });
    for (const bad of [
      { ...base, time: '24:00' },
      { ...base, time: '7:00' },
      { ...base, weekdays: [7] },
      { ...base, weekdays: [] },
    ]) {
      const res = await api('POST', '/api/alarm-schedules', bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect(
      (await api('DELETE', '/api/alarm-schedules/00000000-0000-0000-0000-000000000000')).json(),
    ).toMatchObject({ code: 'ALARM_SCHEDULE_NOT_FOUND' });
  });
});
