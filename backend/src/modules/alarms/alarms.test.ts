import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { and, eq } from 'drizzle-orm';
import {
  AlarmInbox,
  type AlarmBoard,
  type AlarmBoardDelta,
  type AlarmSummary,
  type SocketAck,
  type SyncResponse,
} from '@trupp/shared';
import { alarmRecipients, auditLog } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createQualification,
  createTenant,
  createUnit,
  createUser,
  type TestUser,
} from '../../test/factories.ts';
import { connectSocket, listen, nextEvent } from '../../test/realtime.ts';
import { runEscalations } from './escalation.ts';

let h: TestApp;
let url: string;
let tenantId: string;
let dispatcher: TestUser;
let dispatch: ReturnType<typeof apiAs>;
let station: { id: string };
let squad: { id: string };
let scba: { id: string };
let driver: { id: string };
const members: Record<string, TestUser & { token: string }> = {};
const sockets: Socket[] = [];

async function member(name: string, opts: Parameters<typeof createUser>[2]) {
  const user = await createUser(h.db.database.db, tenantId, { displayName: name, ...opts });
  const { accessToken } = await createDeviceSession(h.db.database.db, user);
  members[name] = { ...user, token: accessToken };
  return members[name]!;
}

async function socketOf(name: string): Promise<Socket> {
  const socket = await connectSocket(url, members[name]!.token);
  sockets.push(socket);
  return socket;
}

function emitAck<T>(socket: Socket, event: string, payload: unknown): Promise<SocketAck<T>> {
  return socket.timeout(5000).emitWithAck(event, payload) as Promise<SocketAck<T>>;
}

beforeAll(async () => {
  h = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  url = await listen(h.app);
  const db = h.db.database.db;
  tenantId = (await createTenant(db)).id;
  station = await createUnit(db, tenantId, { name: 'Station Nord' });
  squad = await createUnit(db, tenantId, { name: 'Squad 1', parentId: station.id });
  scba = await createQualification(db, tenantId, 'SCBA');
  driver = await createQualification(db, tenantId, 'Driver');
  dispatcher = await createUser(db, tenantId, { role: 'dispatcher' });
  dispatch = apiAs(h.app, (await createDeviceSession(db, dispatcher)).accessToken);
  await member('Anna', { unitIds: [squad.id], qualificationIds: [scba.id] });
  await member('Ben', { unitIds: [squad.id], qualificationIds: [scba.id, driver.id] });
  await member('Cem', { unitIds: [station.id] });
  await member('Dora', { unitIds: [squad.id] });
  // Another station, only reached by escalation.
  const south = await createUnit(db, tenantId, { name: 'Station Süd' });
  await member('Emil', { unitIds: [south.id], qualificationIds: [scba.id] });
  await member('Auditor', { role: 'auditor', unitIds: [squad.id] });
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await h?.close();
});

describe('alarm templates', () => {
  it('creates, lists, updates and deletes a template; keywords are unique', async () => {
    const body = {
      keyword: 'B3 – Wohnungsbrand',
      title: 'Wohnungsbrand',
      text: 'Menschenleben in Gefahr',
      priority: 'critical',
      targets: { unitIds: [station.id] },
      requirements: { minMembers: 3, qualifications: [{ qualificationId: scba.id, min: 2 }] },
    };
    const created = await dispatch('POST', '/api/alarm-templates', body);
    expect(created.statusCode).toBe(201);
    const template = created.json<{ id: string; targets: { roles: string[] } }>();
    expect(template.targets.roles).toEqual([]);
    const again = await dispatch('POST', '/api/alarm-templates', body);
    expect(again.json()).toMatchObject({ code: 'ALARM_TEMPLATE_KEYWORD_TAKEN' });
    const badUnit = await dispatch('POST', '/api/alarm-templates', {
      ...body,
      keyword: 'X',
      targets: { unitIds: ['00000000-0000-0000-0000-000000000000'] },
    });
    expect(badUnit.json()).toMatchObject({ code: 'UNIT_NOT_FOUND' });
    const updated = await dispatch('PUT', `/api/alarm-templates/${template.id}`, {
      ...body,
      title: 'Wohnungsbrand, Person vermisst',
    });
    expect(updated.json()).toMatchObject({ title: 'Wohnungsbrand, Person vermisst' });
    const list = await dispatch('GET', '/api/alarm-templates');
    expect(list.json()).toHaveLength(1);
    expect((await dispatch('DELETE', `/api/alarm-templates/${template.id}`)).statusCode).toBe(204);
    expect((await dispatch('DELETE', `/api/alarm-templates/${template.id}`)).json()).toMatchObject({
      code: 'ALARM_TEMPLATE_NOT_FOUND',
    });
  });

  it('members may not manage templates or raise alarms', async () => {
    const anna = apiAs(h.app, members.Anna!.token);
    const denied = await anna('POST', '/api/alarms', {
      keyword: 'X',
      targets: { unitIds: [station.id] },
    });
    expect(denied.statusCode).toBe(403);
    expect((await anna('GET', '/api/alarm-templates')).statusCode).toBe(403);
  });
});

describe('raising and answering an alarm', () => {
  let alarm: AlarmBoard;

  it('alerts the unit with its sub-units, leaves out unavailable members and auditors, live', async () => {
    const dora = apiAs(h.app, members.Dora!.token);
    const away = await dora('PUT', '/api/me/availability', { status: 'unavailable' });
    expect(away.json()).toMatchObject({ status: 'unavailable' });

    const anna = await socketOf('Anna');
    const doraSocket = await socketOf('Dora');
    const dispatchSocket = await connectSocket(
      url,
      (await createDeviceSession(h.db.database.db, dispatcher)).accessToken,
    );
    sockets.push(dispatchSocket);
    let doraGot = false;
    doraSocket.on('alarm.raised', () => (doraGot = true));
    const raised = nextEvent<AlarmSummary>(anna, 'alarm.raised');

    const response = await dispatch('POST', '/api/alarms', {
      keyword: 'B3',
      title: 'Wohnungsbrand',
      text: 'Hauptstraße 5',
      priority: 'critical',
      targets: { unitIds: [station.id] },
      requirements: { minMembers: 2, qualifications: [{ qualificationId: scba.id, min: 2 }] },
      location: { lat: 52.52, lon: 13.405 },
    });
    expect(response.statusCode).toBe(201);
    alarm = response.json<AlarmBoard>();
    expect(alarm.recipients.map((r) => r.displayName).sort()).toEqual(['Anna', 'Ben', 'Cem']);
    expect(alarm.requirements).toEqual([
      expect.objectContaining({ qualificationId: null, need: 2, have: 0, met: false }),
      expect.objectContaining({ name: 'SCBA', need: 2, have: 0, met: false }),
    ]);
    const live = await raised;
    expect(live).toMatchObject({ id: alarm.alarm.id, keyword: 'B3', lat: 52.52, alertCount: 1 });

    // The device acknowledges; the board sees "delivered" as one batched delta.
    const delivered = nextEvent<AlarmBoardDelta>(dispatchSocket, 'alarm.board');
    expect(await emitAck(anna, 'alarm.ack', { alarmId: alarm.alarm.id })).toEqual({
      ok: true,
      data: null,
    });
    const delta = await delivered;
    expect(delta.recipients).toEqual([
      expect.objectContaining({ userId: members.Anna!.id, deliveredAt: expect.any(String) }),
    ]);
    // Acknowledging twice keeps the first time.
    const [first] = await h.db.database.db
      .select()
      .from(alarmRecipients)
      .where(eq(alarmRecipients.userId, members.Anna!.id));
    await emitAck(anna, 'alarm.ack', { alarmId: alarm.alarm.id });
    const [second] = await h.db.database.db
      .select()
      .from(alarmRecipients)
      .where(eq(alarmRecipients.userId, members.Anna!.id));
    expect(second!.deliveredAt).toEqual(first!.deliveredAt);
    expect(doraGot).toBe(false);
    // A repeated ack, or one from a member who was not alerted, changes nothing on the board.
    let boardEvents = 0;
    dispatchSocket.on('alarm.board', () => (boardEvents += 1));
    await emitAck(doraSocket, 'alarm.ack', { alarmId: alarm.alarm.id });
    await emitAck(anna, 'alarm.ack', { alarmId: alarm.alarm.id });
    await new Promise((r) => setTimeout(r, 150));
    expect(boardEvents).toBe(0);
    dispatchSocket.off('alarm.board');
  });

  it('answers are idempotent, update the board live and count toward requirements', async () => {
    const anna = sockets[0]!;
    const dispatchSocket = sockets[2]!;
    const update = nextEvent<AlarmBoardDelta>(dispatchSocket, 'alarm.board');
    const ack = await emitAck<AlarmSummary>(anna, 'alarm.respond', {
      alarmId: alarm.alarm.id,
      response: 'coming',
      etaMinutes: 6,
    });
    expect(ack).toMatchObject({ ok: true, data: { myResponse: 'coming', myEtaMinutes: 6 } });
    expect((await update).recipients[0]).toMatchObject({
      userId: members.Anna!.id,
      response: 'coming',
      etaMinutes: 6,
    });
    // Double tap: same answer again, nothing changes and no board event.
    let extra = 0;
    dispatchSocket.on('alarm.board', () => (extra += 1));
    await emitAck(anna, 'alarm.respond', {
      alarmId: alarm.alarm.id,
      response: 'coming',
      etaMinutes: 6,
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(extra).toBe(0);
    dispatchSocket.off('alarm.board');

    const ben = apiAs(h.app, members.Ben!.token);
    expect(
      (
        await ben('POST', `/api/me/alarms/${alarm.alarm.id}/response`, {
          response: 'later',
        })
      ).json(),
    ).toMatchObject({ code: 'ALARM_RESPONSE_INVALID' });
    await ben('POST', `/api/me/alarms/${alarm.alarm.id}/response`, {
      response: 'coming',
      etaMinutes: 3,
    });
    const board = (await dispatch('GET', `/api/alarms/${alarm.alarm.id}`)).json<AlarmBoard>();
    expect(board.totals).toMatchObject({ recipients: 3, coming: 2, noAnswer: 1 });
    expect(board.recipients.map((r) => r.displayName)).toEqual(['Ben', 'Anna', 'Cem']);
    expect(board.requirements.every((r) => r.met)).toBe(true);
  });

  it('refuses answers from members who were not alerted, and other tenants', async () => {
    const dora = apiAs(h.app, members.Dora!.token);
    const res = await dora('POST', `/api/me/alarms/${alarm.alarm.id}/response`, {
      response: 'coming',
      etaMinutes: 1,
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'ALARM_NOT_FOUND' });
    const other = await createTenant(h.db.database.db);
    const stranger = await createUser(h.db.database.db, other.id, { role: 'dispatcher' });
    const strangerApi = apiAs(
      h.app,
      (await createDeviceSession(h.db.database.db, stranger)).accessToken,
    );
    expect((await strangerApi('GET', `/api/alarms/${alarm.alarm.id}`)).statusCode).toBe(404);
    expect((await strangerApi('POST', `/api/alarms/${alarm.alarm.id}/close`)).statusCode).toBe(404);
  });

  it('a device that was offline gets the alarm by sync, once, and then nothing more', async () => {
    const cem = await socketOf('Cem');
    const inbox = new AlarmInbox();
    const sync = await emitAck<SyncResponse>(cem, 'sync', { cursors: { alarms: null } });
    if (!sync.ok) throw new Error(sync.error.code);
    for (const item of sync.data.sources.alarms!.items) inbox.merge(item as AlarmSummary);
    expect(inbox.list().map((a) => a.id)).toEqual([alarm.alarm.id]);
    // The same alarm arriving live as well is still one entry, and not alerted twice.
    expect(inbox.merge(inbox.get(alarm.alarm.id)!)).toEqual({ alert: false });
    expect(inbox.size).toBe(1);
    const again = await emitAck<SyncResponse>(cem, 'sync', {
      cursors: { alarms: sync.data.sources.alarms!.cursor },
    });
    if (!again.ok) throw new Error(again.error.code);
    expect(again.data.sources.alarms!.items).toEqual([]);
  });

  it('updates text, adds targets, closes; closed alarms refuse answers', async () => {
    const cem = sockets.at(-1)!;
    const updated = nextEvent<AlarmSummary>(cem, 'alarm.updated');
    const res = await dispatch('PATCH', `/api/alarms/${alarm.alarm.id}`, {
      text: 'Hauptstraße 5, 2. OG',
      addTargets: { userIds: [members.Emil!.id] },
    });
    expect(res.statusCode).toBe(200);
    expect((await updated).text).toBe('Hauptstraße 5, 2. OG');
    expect(res.json<AlarmBoard>().totals.recipients).toBe(4);

    const closed = await dispatch('POST', `/api/alarms/${alarm.alarm.id}/close`);
    expect(closed.json<AlarmBoard>().alarm.closedAt).not.toBeNull();
    const late = await apiAs(h.app, members.Cem!.token)(
      'POST',
      `/api/me/alarms/${alarm.alarm.id}/response`,
      { response: 'coming', etaMinutes: 4 },
    );
    expect(late.statusCode).toBe(409);
    expect(late.json()).toMatchObject({ code: 'ALARM_CLOSED' });
    expect(
      (await dispatch('PATCH', `/api/alarms/${alarm.alarm.id}`, { text: 'x' })).json(),
    ).toMatchObject({ code: 'ALARM_CLOSED' });
    const audit = await h.db.database.db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.targetId, alarm.alarm.id)));
    expect(audit.map((a) => a.action)).toEqual(['alarm.raised', 'alarm.updated', 'alarm.closed']);
  });

  it('refuses an alarm nobody available would get, and bad input', async () => {
    const nobody = await dispatch('POST', '/api/alarms', {
      keyword: 'X',
      targets: { userIds: [members.Dora!.id] },
    });
    expect(nobody.json()).toMatchObject({ code: 'ALARM_NO_RECIPIENTS' });
    const allHands = await dispatch('POST', '/api/alarms', {
      keyword: 'X',
      targets: { userIds: [members.Dora!.id] },
      allHands: true,
      isTest: true,
    });
    expect(allHands.statusCode).toBe(201);
    expect(allHands.json<AlarmBoard>().alarm.isTest).toBe(true);
    for (const bad of [
      { keyword: 'X', targets: { unitIds: 'all' } },
      { keyword: 'X', targets: { roles: ['king'] }, location: { lat: 91, lon: 0 } },
      { keyword: 7, targets: { roles: ['member'] } },
      { targets: { roles: ['member'] } },
    ]) {
      const res = await dispatch('POST', '/api/alarms', bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });
});

describe('a burst of answers', () => {
  it('records each member once, however often they tap, and refuses answers after close', async () => {
    const db = h.db.database.db;
    const crowd = await Promise.all(
      Array.from({ length: 40 }, (_, i) => createUser(db, tenantId, { displayName: `Crowd ${i}` })),
    );
    const tokens = await Promise.all(crowd.map((u) => createDeviceSession(db, u)));
    const raised = await dispatch('POST', '/api/alarms', {
      keyword: 'MANV',
      targets: { userIds: crowd.map((u) => u.id) },
    });
    const alarmId = raised.json<AlarmBoard>().alarm.id;
    const answers = await Promise.all(
      tokens.flatMap(({ accessToken }, i) =>
        [0, 1, 2].map(() =>
          apiAs(h.app, accessToken)('POST', `/api/me/alarms/${alarmId}/response`, {
            response: i % 2 === 0 ? 'coming' : 'not_coming',
            etaMinutes: i % 2 === 0 ? 5 : null,
          }),
        ),
      ),
    );
    expect(answers.every((a) => a.statusCode === 200)).toBe(true);
    const board = (await dispatch('GET', `/api/alarms/${alarmId}`)).json<AlarmBoard>();
    expect(board.totals).toMatchObject({ recipients: 40, coming: 20, notComing: 20, noAnswer: 0 });
    await dispatch('POST', `/api/alarms/${alarmId}/close`);
    const late = await Promise.all(
      tokens.slice(0, 5).map(({ accessToken }) =>
        apiAs(h.app, accessToken)('POST', `/api/me/alarms/${alarmId}/response`, {
          response: 'later',
          etaMinutes: 30,
        }),
      ),
    );
    expect(late.map((r) => r.json<{ code: string }>().code)).toEqual(Array(5).fill('ALARM_CLOSED'));
  });
});

describe('escalation', () => {
  it('re-alerts non-responders, then extends to the next targets, audited and on the board', async () => {
    const db = h.db.database.db;
    await apiAs(h.app, members.Dora!.token)('PUT', '/api/me/availability', {
      status: 'available',
    });
    const anna = sockets[0]!;
    const emil = await socketOf('Emil');
    const raised = await dispatch('POST', '/api/alarms', {
      keyword: 'B2',
      title: 'Kellerbrand',
      priority: 'high',
      targets: { unitIds: [squad.id] },
      requirements: { minMembers: 0, qualifications: [{ qualificationId: scba.id, min: 3 }] },
      escalation: {
        afterSeconds: 30,
        minComing: 1,
        extendTargets: {
          unitIds: [],
          roles: [],
          userIds: [members.Emil!.id],
          qualificationIds: [],
        },
      },
    });
    const board = raised.json<AlarmBoard>();
    expect(board.recipients.map((r) => r.displayName).sort()).toEqual(['Anna', 'Ben', 'Dora']);
    await apiAs(h.app, members.Ben!.token)('POST', `/api/me/alarms/${board.alarm.id}/response`, {
      response: 'coming',
      etaMinutes: 5,
    });
    const created = new Date(board.alarm.createdAt).getTime();

    expect(await runEscalations(h.app, new Date(created + 10_000))).toBe(0);

    const realert = nextEvent<AlarmSummary>(anna, 'alarm.raised');
    expect(await runEscalations(h.app, new Date(created + 31_000))).toBe(1);
    expect(await realert).toMatchObject({ id: board.alarm.id, alertCount: 2 });
    let after = (await dispatch('GET', `/api/alarms/${board.alarm.id}`)).json<AlarmBoard>();
    expect(after.alarm.escalationStage).toBe(1);
    const ben = after.recipients.find((r) => r.displayName === 'Ben')!;
    expect(ben.alertCount).toBe(1);

    const extended = nextEvent<AlarmSummary>(emil, 'alarm.raised');
    expect(await runEscalations(h.app, new Date(created + 62_000))).toBe(1);
    expect(await extended).toMatchObject({ id: board.alarm.id });
    after = (await dispatch('GET', `/api/alarms/${board.alarm.id}`)).json<AlarmBoard>();
    expect(after.alarm.escalationStage).toBe(2);
    expect(after.recipients.find((r) => r.displayName === 'Emil')).toMatchObject({ stage: 2 });
    // Nothing further after the last step.
    expect(await runEscalations(h.app, new Date(created + 200_000))).toBe(0);
    const audit = await db
      .select({ action: auditLog.action, details: auditLog.details })
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.targetId, board.alarm.id)));
    expect(audit.filter((a) => a.action === 'alarm.escalated')).toHaveLength(2);
  });

  it('stops when the requirements are met in time', async () => {
    const raised = await dispatch('POST', '/api/alarms', {
      keyword: 'THL',
      targets: { userIds: [members.Anna!.id] },
      escalation: {
        afterSeconds: 30,
        minComing: 1,
        extendTargets: { unitIds: [station.id], roles: [], userIds: [], qualificationIds: [] },
      },
    });
    const board = raised.json<AlarmBoard>();
    await apiAs(h.app, members.Anna!.token)('POST', `/api/me/alarms/${board.alarm.id}/response`, {
      response: 'coming',
      etaMinutes: 2,
    });
    const created = new Date(board.alarm.createdAt).getTime();
    expect(await runEscalations(h.app, new Date(created + 31_000))).toBe(0);
    const after = (await dispatch('GET', `/api/alarms/${board.alarm.id}`)).json<AlarmBoard>();
    expect(after.alarm.escalationStage).toBe(0);
    expect(after.totals.recipients).toBe(1);
  });
});
