import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import {
  PTT_SERVER_EVENTS,
  type AlarmBoard,
  type PttChannel,
  type PttMyChannel,
  type PttRecording,
  type SocketAck,
} from '@trupp/shared';
import { auditLog, pttEmergencies, pttRecordings, tenants } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUnit,
  createUser,
  type TestUser,
} from '../../test/factories.ts';
import { connectSocket, listen, nextEvent } from '../../test/realtime.ts';
import { applyRetention } from '../retention/service.ts';

/**
 * Channels over HTTP: management by dispatch, membership by unit (with sub-units), role
 * and user, the alarm hook, recordings (listing, download, retention) and the privacy
 * export. Media is not involved (floor.test.ts covers it).
 */
let h: TestApp;
let url: string;
let recordingsDir: string;
let tenantId: string;
let station: { id: string };
let squad: { id: string };
let other: { id: string };
let dispatch: ReturnType<typeof apiAs>;
const users: Record<string, TestUser & { token: string; api: ReturnType<typeof apiAs> }> = {};

async function person(name: string, options: Parameters<typeof createUser>[2] = {}) {
  const user = await createUser(h.db.database.db, tenantId, { displayName: name, ...options });
  const { accessToken } = await createDeviceSession(h.db.database.db, user);
  users[name] = { ...user, token: accessToken, api: apiAs(h.app, accessToken) };
  return users[name]!;
}

async function myChannels(name: string): Promise<string[]> {
  const res = await users[name]!.api('GET', '/api/me/ptt/channels');
  expect(res.statusCode, res.body).toBe(200);
  return res
    .json<PttMyChannel[]>()
    .map((c) => c.name)
    .sort();
}

beforeAll(async () => {
  recordingsDir = await mkdtemp(join(tmpdir(), 'trupp-rec-'));
  h = await createTestApp({ RECORDINGS_DIR: recordingsDir });
  url = await listen(h.app);
  const db = h.db.database.db;
  tenantId = (await createTenant(db)).id;
  station = await createUnit(db, tenantId, { name: 'Station' });
  squad = await createUnit(db, tenantId, { name: 'Squad', parentId: station.id });
  other = await createUnit(db, tenantId, { name: 'Other station' });
  const dispatcher = await person('Dispatcher', { role: 'dispatcher' });
  dispatch = dispatcher.api;
  await person('Anna', { unitIds: [squad.id] });
  await person('Ben', { unitIds: [other.id] });
  await person('Lea', { role: 'lead', unitIds: [other.id] });
  await person('Audrey', { role: 'auditor' });
});
afterAll(async () => {
  await h?.close();
  await rm(recordingsDir, { recursive: true, force: true });
});

describe('channel management', () => {
  it('creates, lists, changes and deletes channels; members see theirs by unit, role and user', async () => {
    const created = await dispatch('POST', '/api/ptt/channels', {
      name: '  Station ',
      members: { unitIds: [station.id], roles: [], userIds: [] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const stationChannel = created.json<PttChannel>();
    expect(stationChannel).toMatchObject({
      name: 'Station',
      priority: false,
      recorded: false,
      maxTalkSeconds: 30,
      alarmId: null,
      archived: false,
    });
    const leads = await dispatch('POST', '/api/ptt/channels', {
      name: 'Leads',
      members: { unitIds: [], roles: ['lead'], userIds: [users.Ben!.id] },
      priority: true,
      recorded: true,
      maxTalkSeconds: 60,
    });
    expect(leads.statusCode, leads.body).toBe(201);

    // Anna is in a sub-unit of Station; Ben is named; Lea by role.
    expect(await myChannels('Anna')).toEqual(['Station']);
    expect(await myChannels('Ben')).toEqual(['Leads']);
    // Leads, dispatchers and admins manage channels and may join every one of them.
    expect(await myChannels('Lea')).toEqual(['Leads', 'Station']);
    expect(await myChannels('Dispatcher')).toEqual(['Leads', 'Station']);
    const auditor = await users.Audrey!.api('GET', '/api/me/ptt/channels');
    expect(auditor.statusCode).toBe(403);

    // Members cannot manage.
    const byMember = await users.Anna!.api('POST', '/api/ptt/channels', {
      name: 'Mine',
      members: { unitIds: [], roles: [], userIds: [] },
    });
    expect(byMember.statusCode).toBe(403);
    expect((await users.Anna!.api('GET', '/api/ptt/channels')).statusCode).toBe(403);

    // Another tenant's unit is unknown here; nothing is written.
    const foreign = await createUnit(h.db.database.db, (await createTenant(h.db.database.db)).id);
    const bad = await dispatch('POST', '/api/ptt/channels', {
      name: 'Foreign',
      members: { unitIds: [foreign.id], roles: [], userIds: [] },
    });
    expect(bad.statusCode).toBe(404);
    expect(bad.json()).toMatchObject({ code: 'UNIT_NOT_FOUND' });
    const tooShort = await dispatch('POST', '/api/ptt/channels', {
      name: 'Short',
      members: { unitIds: [], roles: [], userIds: [] },
      maxTalkSeconds: 1,
    });
    expect(tooShort.statusCode).toBe(400);

    const patched = await dispatch('PATCH', `/api/ptt/channels/${stationChannel.id}`, {
      members: { unitIds: [other.id], roles: [], userIds: [] },
      maxTalkSeconds: 45,
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json<PttChannel>()).toMatchObject({ maxTalkSeconds: 45 });
    expect(await myChannels('Anna')).toEqual([]);
    expect(await myChannels('Ben')).toEqual(['Leads', 'Station']);

    const archived = await dispatch('PATCH', `/api/ptt/channels/${stationChannel.id}`, {
      archived: true,
    });
    expect(archived.json<PttChannel>().archived).toBe(true);
    expect(await myChannels('Ben')).toEqual(['Leads']);
    const listed = await dispatch('GET', '/api/ptt/channels?archived=true');
    expect(listed.json<PttChannel[]>().map((c) => c.name)).toEqual(['Station']);

    const deleted = await dispatch('DELETE', `/api/ptt/channels/${stationChannel.id}`);
    expect(deleted.statusCode).toBe(204);
    expect((await dispatch('GET', `/api/ptt/channels/${stationChannel.id}`)).statusCode).toBe(404);

    const actions = (
      await h.db.database.db
        .select({ action: auditLog.action })
        .from(auditLog)
        .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.targetId, stationChannel.id)))
    ).map((r) => r.action);
    expect(actions).toEqual([
      'ptt.channel_created',
      'ptt.channel_updated',
      'ptt.channel_updated',
      'ptt.channel_deleted',
    ]);
  });

  it('refuses to join a channel one does not belong to, as if it did not exist', async () => {
    const res = await dispatch('POST', '/api/ptt/channels', {
      name: 'Closed group',
      members: { unitIds: [], roles: [], userIds: [users.Ben!.id] },
    });
    const { id } = res.json<PttChannel>();
    const socket = await connectSocket(url, users.Anna!.token);
    const ack = (await socket
      .timeout(5000)
      .emitWithAck('ptt.join', { channelId: id })) as SocketAck<unknown>;
    socket.close();
    expect(ack).toMatchObject({
      ok: false,
      error: { code: 'PTT_CHANNEL_NOT_FOUND', statusCode: 404 },
    });
  });
});

describe('alarm channels', () => {
  it('an alarm from a template that opens push-to-talk gets a channel for its recipients, archived when it closes', async () => {
    const template = await dispatch('POST', '/api/alarm-templates', {
      keyword: 'B3',
      title: 'Fire in a building',
      priority: 'high',
      targets: { unitIds: [station.id], roles: [], userIds: [], qualificationIds: [] },
      opensPtt: true,
    });
    expect(template.statusCode, template.body).toBe(201);
    const anna = await connectSocket(url, users.Anna!.token);
    const changed = nextEvent(anna, PTT_SERVER_EVENTS.channelsChanged);
    const raised = await dispatch('POST', '/api/alarms', {
      templateId: template.json<{ id: string }>().id,
    });
    expect(raised.statusCode, raised.body).toBe(201);
    const alarmId = raised.json<AlarmBoard>().alarm.id;
    await changed;
    const mine = await users.Anna!.api('GET', '/api/me/ptt/channels');
    const alarmChannel = mine.json<PttMyChannel[]>().find((c) => c.alarmId === alarmId);
    expect(alarmChannel).toMatchObject({ name: 'B3 · Fire in a building' });
    // Ben (another station) was not alerted: not his channel.
    expect((await myChannels('Ben')).some((n) => n.startsWith('B3'))).toBe(false);

    // Adding Ben's station to the alarm adds him; he is told to refresh his list.
    const ben = await connectSocket(url, users.Ben!.token);
    const benChanged = nextEvent(ben, PTT_SERVER_EVENTS.channelsChanged);
    const updated = await dispatch('PATCH', `/api/alarms/${alarmId}`, {
      addTargets: { unitIds: [other.id], roles: [], userIds: [], qualificationIds: [] },
    });
    expect(updated.statusCode, updated.body).toBe(200);
    await benChanged;
    expect(await myChannels('Ben')).toContain('B3 · Fire in a building');

    // Members of an alarm channel follow the alarm.
    const edit = await dispatch('PATCH', `/api/ptt/channels/${alarmChannel!.id}`, {
      members: { unitIds: [], roles: [], userIds: [] },
    });
    expect(edit.json()).toMatchObject({ code: 'PTT_ALARM_CHANNEL' });

    const closed = await dispatch('POST', `/api/alarms/${alarmId}/close`);
    expect(closed.statusCode).toBe(200);
    await expect
      .poll(async () => (await myChannels('Anna')).includes('B3 · Fire in a building'))
      .toBe(false);
    const row = await dispatch('GET', `/api/ptt/channels/${alarmChannel!.id}`);
    expect(row.json<PttChannel>()).toMatchObject({ archived: true, alarmId });
    anna.close();
    ben.close();
  });
});

describe('recordings', () => {
  async function recording(channelId: string, talker: string, daysAgo: number) {
    const id = crypto.randomUUID();
    const storagePath = join(tenantId, channelId, `${id}.opus`);
    await mkdir(join(recordingsDir, tenantId, channelId), { recursive: true });
    // A minimal Ogg page header is enough for the download test; real files come from the SFU.
    await writeFile(join(recordingsDir, storagePath), Buffer.from(`OggS-${id}`));
    await h.db.database.db.insert(pttRecordings).values({
      id,
      tenantId,
      channelId,
      talkerUserId: users[talker]!.id,
      startedAt: new Date(Date.now() - daysAgo * 86_400_000),
      durationMs: 4200,
      bytes: 12,
      storagePath,
      createdAt: new Date(),
    });
    return { id, file: join(recordingsDir, storagePath) };
  }

  it('lists a channel’s recordings, downloads one as audio/ogg (audited) and retention deletes old ones with their files', async () => {
    const res = await dispatch('POST', '/api/ptt/channels', {
      name: 'Recorded',
      members: { unitIds: [station.id], roles: [], userIds: [] },
      recorded: true,
    });
    const channelId = res.json<PttChannel>().id;
    const old = await recording(channelId, 'Anna', 40);
    const fresh = await recording(channelId, 'Anna', 1);

    const list = await dispatch('GET', `/api/ptt/channels/${channelId}/recordings`);
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json<PttRecording[]>()).toEqual([
      expect.objectContaining({ id: fresh.id, talkerDisplayName: 'Anna', durationMs: 4200 }),
      expect.objectContaining({ id: old.id }),
    ]);
    // Members do not list or download recordings.
    expect(
      (await users.Anna!.api('GET', `/api/ptt/channels/${channelId}/recordings`)).statusCode,
    ).toBe(403);

    const audio = await dispatch('GET', `/api/ptt/recordings/${fresh.id}/audio`);
    expect(audio.statusCode).toBe(200);
    expect(audio.headers['content-type']).toBe('audio/ogg');
    expect(audio.body).toBe(`OggS-${fresh.id}`);
    const [download] = await h.db.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.action, 'ptt.recording_downloaded')));
    expect(download).toMatchObject({ targetId: fresh.id, actorUserId: users.Dispatcher!.id });

    // The privacy export lists the member's recorded transmissions and emergency calls.
    await h.db.database.db.insert(pttEmergencies).values({
      id: crypto.randomUUID(),
      tenantId,
      channelId,
      userId: users.Anna!.id,
      lat: 50.1,
      lon: 8.6,
      accuracyM: 20,
      positionAt: new Date(),
      raisedAt: new Date(),
    });
    const exported = await users.Anna!.api('GET', '/api/me/export');
    expect(exported.statusCode, exported.body.slice(0, 200)).toBe(200);
    const data = exported.json<{
      pttRecordings: Array<{ id: string; channelName: string }>;
      pttEmergencies: Array<{ lat: number; channelName: string }>;
    }>();
    expect(data.pttRecordings.map((r) => r.id).sort()).toEqual([old.id, fresh.id].sort());
    expect(data.pttRecordings[0]!.channelName).toBe('Recorded');
    expect(data.pttEmergencies).toEqual([
      expect.objectContaining({ lat: 50.1, channelName: 'Recorded' }),
    ]);
    const info = await users.Anna!.api('GET', '/api/privacy');
    expect(
      info.json<{ categories: Array<{ key: string; retention: number }> }>().categories,
    ).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'ptt', retention: 30 })]));

    // Retention: 30 days by default; the 40-day-old one goes, with its file.
    const [result] = (await applyRetention(h.app)).filter((r) => r.tenantId === tenantId);
    expect(result).toMatchObject({ recordingsDeleted: 1 });
    const left = await h.db.database.db
      .select({ id: pttRecordings.id })
      .from(pttRecordings)
      .where(eq(pttRecordings.tenantId, tenantId));
    expect(left.map((r) => r.id)).toEqual([fresh.id]);
    const files = await readdir(join(recordingsDir, tenantId, channelId));
    expect(files).toEqual([`${fresh.id}.opus`]);
    expect((await dispatch('GET', `/api/ptt/recordings/${old.id}/audio`)).statusCode).toBe(404);

    // A shorter period set by the admin applies at the next run.
    await h.db.database.db
      .update(tenants)
      .set({ retentionRecordingDays: 1 })
      .where(eq(tenants.id, tenantId));
    await applyRetention(h.app, new Date(Date.now() + 3600_000));
    expect(
      await h.db.database.db
        .select()
        .from(pttRecordings)
        .where(eq(pttRecordings.tenantId, tenantId)),
    ).toEqual([]);
  });

  it('a recording whose file is missing answers 404, not 500', async () => {
    const res = await dispatch('POST', '/api/ptt/channels', {
      name: 'Lost files',
      members: { unitIds: [], roles: [], userIds: [] },
    });
    const rec = await recording(res.json<PttChannel>().id, 'Anna', 0);
    await rm(rec.file);
    const audio = await dispatch('GET', `/api/ptt/recordings/${rec.id}/audio`);
    expect(audio.statusCode).toBe(404);
    expect(audio.json()).toMatchObject({ code: 'PTT_RECORDING_NOT_FOUND' });
  });
});
