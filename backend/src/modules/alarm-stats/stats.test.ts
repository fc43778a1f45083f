import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AlarmResponse } from '@trupp/shared';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUnit,
  createUser,
  type TestUser,
} from '../../test/factories.ts';
import { closeAlarm, markSeen, respond, triggerAlarm } from '../alarms/service.ts';
import type { AlarmStatistics } from './schemas.ts';
import { csvCell, median, percentile } from './service.ts';

let h: TestApp;
let tenantId: string;
let otherTenantId: string;
let dispatch: ReturnType<typeof apiAs>;
let otherDispatch: ReturnType<typeof apiAs>;
let memberApi: ReturnType<typeof apiAs>;
let anna: TestUser;
let ben: TestUser;
let cem: TestUser;
let dora: TestUser;
let stranger: TestUser;
let squad: { id: string; name: string };
let station: { id: string; name: string };
const alarmIds: string[] = [];

/** Whole seconds, ten days ago: inside the default range of 90 days. */
const T0 = new Date(Math.floor((Date.now() - 10 * 86_400_000) / 1000) * 1000);
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const DAY = 86_400;

/** Raises an alarm at `start` (seconds after T0) and answers it at the given offsets. */
async function alarmWith(
  tenant: string,
  actorId: string,
  start: number,
  members: TestUser[],
  answers: Array<[TestUser, AlarmResponse, number, number?]>,
  options: { isTest?: boolean; close?: boolean } = {},
): Promise<string> {
  vi.setSystemTime(at(start));
  const board = await triggerAlarm(
    h.app,
    tenant,
    { userId: actorId },
    {
      keyword: `K${start}`,
      title: 'Statistics test',
      targets: { unitIds: [], roles: [], userIds: members.map((m) => m.id), qualificationIds: [] },
      isTest: options.isTest ?? false,
    },
    { source: 'console' },
  );
  const alarmId = board.alarm.id;
  for (const [member, response, after, eta] of answers) {
    vi.setSystemTime(at(start + after));
    await respond(h.app, tenant, member.id, alarmId, response, eta ?? null);
  }
  if (options.close) {
    vi.setSystemTime(at(start + 600));
    await closeAlarm(h.app, tenant, { userId: actorId }, alarmId);
  }
  return alarmId;
}

beforeAll(async () => {
  h = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  const db = h.db.database.db;
  tenantId = (await createTenant(db)).id;
  station = await createUnit(db, tenantId, { name: 'Station Nord' });
  squad = await createUnit(db, tenantId, { name: 'Squad 1', parentId: station.id });
  const dispatcher = await createUser(db, tenantId, { role: 'dispatcher' });
  dispatch = apiAs(h.app, (await createDeviceSession(db, dispatcher)).accessToken);
  anna = await createUser(db, tenantId, { displayName: 'Anna', unitIds: [squad.id] });
  ben = await createUser(db, tenantId, { displayName: 'Ben', unitIds: [squad.id] });
  cem = await createUser(db, tenantId, { displayName: 'Cem', unitIds: [station.id] });
  // A name a spreadsheet would run as a formula.
  dora = await createUser(db, tenantId, { displayName: '=HYPERLINK("http://x","Dora")' });
  memberApi = apiAs(h.app, (await createDeviceSession(db, anna)).accessToken);

  otherTenantId = (await createTenant(db)).id;
  const otherDispatcher = await createUser(db, otherTenantId, { role: 'dispatcher' });
  otherDispatch = apiAs(h.app, (await createDeviceSession(db, otherDispatcher)).accessToken);
  stranger = await createUser(db, otherTenantId, { displayName: 'Stranger' });

  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    // Alarm 1: Anna coming after 30 s, Cem not coming after 60 s, Ben coming after 90 s,
    // Dora's device got it but she never answered.
    alarmIds.push(
      await alarmWith(
        tenantId,
        dispatcher.id,
        0,
        [anna, ben, cem, dora],
        [
          [anna, 'coming', 30],
          [cem, 'not_coming', 60],
          [ben, 'coming', 90, 8],
        ],
      ),
    );
    await markSeen(h.app, tenantId, alarmIds[0]!, [dora.id], 'delivered', at(5));
    // Alarm 2, a day later: Anna coming after 20 s, Ben later (10 min) after 40 s; closed.
    alarmIds.push(
      await alarmWith(
        tenantId,
        dispatcher.id,
        DAY,
        [anna, ben],
        [
          [anna, 'coming', 20],
          [ben, 'later', 40, 10],
        ],
        { close: true },
      ),
    );
    // A test alarm two days in: counted only when asked for.
    alarmIds.push(
      await alarmWith(tenantId, dispatcher.id, 2 * DAY, [anna], [[anna, 'coming', 10]], {
        isTest: true,
      }),
    );
    // Another tenant's alarm in the same range.
    await alarmWith(otherTenantId, otherDispatcher.id, 100, [stranger], [[stranger, 'coming', 5]]);
  } finally {
    vi.useRealTimers();
  }
});
afterAll(async () => h?.close());

const range = (extra = '') =>
  `from=${encodeURIComponent(at(-3600).toISOString())}&to=${encodeURIComponent(at(3 * DAY).toISOString())}${extra}`;

describe('alarm statistics', () => {
  it('computes per alarm, unit and member figures from the answers', async () => {
    const res = await dispatch('GET', `/api/alarm-statistics?${range()}`);
    expect(res.statusCode).toBe(200);
    const stats = res.json<AlarmStatistics>();
    expect(stats.includeTests).toBe(false);
    expect(stats.totals).toEqual({
      alarms: 2,
      alerted: 6,
      answered: 5,
      coming: 3,
      responseRate: 0.833,
      medianResponseSeconds: 40,
    });
    // Newest first.
    expect(stats.alarms.map((a) => a.alarmId)).toEqual([alarmIds[1], alarmIds[0]]);
    expect(stats.alarms[1]).toMatchObject({
      keyword: 'K0',
      createdAt: T0.toISOString(),
      closedAt: null,
      recipients: 4,
      delivered: 4,
      answered: 3,
      coming: 2,
      later: 0,
      notComing: 1,
      responseRate: 0.75,
      medianResponseSeconds: 60,
      p90ResponseSeconds: 90,
      firstComingSeconds: 30,
    });
    expect(stats.alarms[0]).toMatchObject({
      closedAt: at(DAY + 600).toISOString(),
      recipients: 2,
      delivered: 2,
      answered: 2,
      coming: 1,
      later: 1,
      responseRate: 1,
      medianResponseSeconds: 30,
      p90ResponseSeconds: 40,
      firstComingSeconds: 20,
    });
    expect(stats.units).toEqual([
      {
        unitId: squad.id,
        name: 'Squad 1',
        alarms: 2,
        alerted: 4,
        answered: 4,
        coming: 3,
        responseRate: 1,
        medianResponseSeconds: 35,
      },
      {
        unitId: station.id,
        name: 'Station Nord',
        alarms: 1,
        alerted: 1,
        answered: 1,
        coming: 0,
        responseRate: 1,
        medianResponseSeconds: 60,
      },
    ]);
    const byId = new Map(stats.members.map((m) => [m.userId, m]));
    expect(stats.members).toHaveLength(4);
    expect(byId.get(anna.id)).toMatchObject({
      displayName: 'Anna',
      alerted: 2,
      answered: 2,
      coming: 2,
      responseRate: 1,
      medianResponseSeconds: 25,
    });
    expect(byId.get(ben.id)).toMatchObject({
      alerted: 2,
      answered: 2,
      coming: 1,
      medianResponseSeconds: 65,
    });
    expect(byId.get(cem.id)).toMatchObject({
      alerted: 1,
      answered: 1,
      coming: 0,
      medianResponseSeconds: 60,
    });
    expect(byId.get(dora.id)).toMatchObject({
      alerted: 1,
      answered: 0,
      coming: 0,
      responseRate: 0,
      medianResponseSeconds: null,
    });
  });

  it('includes test alarms only when asked, and honours the range', async () => {
    const withTests = (
      await dispatch('GET', `/api/alarm-statistics?${range('&includeTests=true')}`)
    ).json<AlarmStatistics>();
    expect(withTests.alarms.map((a) => a.alarmId)).toEqual([...alarmIds].reverse());
    expect(withTests.alarms[0]).toMatchObject({ isTest: true, firstComingSeconds: 10 });
    expect(withTests.members.find((m) => m.userId === anna.id)).toMatchObject({
      alerted: 3,
      medianResponseSeconds: 20,
    });

    const from = encodeURIComponent(at(12 * 3600).toISOString());
    const later = (
      await dispatch('GET', `/api/alarm-statistics?from=${from}`)
    ).json<AlarmStatistics>();
    expect(later.alarms.map((a) => a.alarmId)).toEqual([alarmIds[1]]);
    expect(later.members.map((m) => m.userId).sort()).toEqual([anna.id, ben.id].sort());

    // Without a range: the last 90 days up to now.
    const recent = (await dispatch('GET', '/api/alarm-statistics')).json<AlarmStatistics>();
    expect(recent.totals.alarms).toBe(2);
    const span = Date.parse(recent.to) - Date.parse(recent.from);
    expect(span).toBe(90 * 86_400_000);
  });

  it('keeps tenants apart', async () => {
    const mine = await dispatch('GET', `/api/alarm-statistics?${range('&includeTests=true')}`);
    expect(mine.body).not.toContain(stranger.id);
    const theirs = (
      await otherDispatch('GET', `/api/alarm-statistics?${range('&includeTests=true')}`)
    ).json<AlarmStatistics>();
    expect(theirs.totals).toMatchObject({ alarms: 1, alerted: 1, coming: 1 });
    expect(theirs.members).toEqual([
      expect.objectContaining({ userId: stranger.id, medianResponseSeconds: 5 }),
    ]);
    expect(theirs.units).toEqual([]);
    const csv = await otherDispatch('GET', `/api/alarm-statistics.csv?${range()}`);
    expect(csv.body).not.toContain(anna.id);
  });

  it('exports one CSV row per member, quoted and safe to open in a spreadsheet', async () => {
    const res = await dispatch('GET', `/api/alarm-statistics.csv?${range()}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="trupp-alarm-statistics-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv"$/,
    );
    const lines = res.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      '"member","user_id","units","alerted","answered","coming","response_rate_percent","median_response_seconds"',
    );
    expect(lines).toHaveLength(5);
    expect(lines).toContain(`"Anna","${anna.id}","Squad 1","2","2","2","100","25"`);
    expect(lines).toContain(`"Cem","${cem.id}","Station Nord","1","1","0","100","60"`);
    expect(lines).toContain(
      `"'=HYPERLINK(""http://x"",""Dora"")","${dora.id}","","1","0","0","0",""`,
    );
  });

  it('refuses bad ranges and callers without the board permission', async () => {
    const iso = (d: Date) => encodeURIComponent(d.toISOString());
    const reversed = await dispatch(
      'GET',
      `/api/alarm-statistics?from=${iso(at(DAY))}&to=${iso(at(0))}`,
    );
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json().code).toBe('AUDIT_RANGE_INVALID');
    const tooLong = await dispatch(
      'GET',
      `/api/alarm-statistics.csv?from=${iso(at(-400 * DAY))}&to=${iso(at(0))}`,
    );
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().code).toBe('AUDIT_RANGE_INVALID');
    for (const query of ['from=yesterday', 'to=2024-13-45', 'includeTests=perhaps']) {
      const res = await dispatch('GET', `/api/alarm-statistics?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().code, query).toBe('VALIDATION_FAILED');
    }
    expect((await memberApi('GET', '/api/alarm-statistics')).statusCode).toBe(403);
    expect((await memberApi('GET', '/api/alarm-statistics.csv')).statusCode).toBe(403);
    expect((await apiAs(h.app, null)('GET', '/api/alarm-statistics')).statusCode).toBe(401);
  });
});

describe('statistics helpers', () => {
  it('median, nearest-rank percentile and CSV cells', () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90)).toBe(90);
    expect(percentile([5], 90)).toBe(5);
    expect(csvCell('+1 555')).toBe(`"'+1 555"`);
    expect(csvCell('-2')).toBe(`"'-2"`);
    expect(csvCell('@SUM(A1)')).toBe(`"'@SUM(A1)"`);
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell(null)).toBe('""');
    expect(csvCell(42)).toBe('"42"');
  });
});
