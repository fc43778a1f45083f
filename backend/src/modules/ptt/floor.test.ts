import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import {
  PTT_SERVER_EVENTS,
  type PttAudible,
  type PttChannel,
  type PttEmergency,
  type PttFloorEnded,
  type PttFloorGranted,
  type PttFloorState,
  type PttFloorWarning,
  type Role,
} from '@trupp/shared';
import { auditLog, pttEmergencies, pttRecordings } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUnit,
  createUser,
  type TestUser,
} from '../../test/factories.ts';
import { PttTestClient, waitUntil } from '../../test/ptt-client.ts';
import { connectSocket, listen } from '../../test/realtime.ts';

/**
 * Floor control end to end: socket.io signalling, a real mediasoup worker, and werift
 * clients doing ICE, DTLS and SRTP like a browser. Every talker's client sends audio all
 * the time; what a listener receives shows what the server forwards.
 */
let h: TestApp;
let url: string;
let tenantId: string;
let unitId: string;
let dispatcherToken: string;
let recordingsDir: string;
const clients: PttTestClient[] = [];
const people = new Map<string, TestUser>();

beforeAll(async () => {
  recordingsDir = await mkdtemp(join(tmpdir(), 'trupp-ptt-rec-'));
  h = await createTestApp({ RECORDINGS_DIR: recordingsDir });
  url = await listen(h.app);
  const db = h.db.database.db;
  tenantId = (await createTenant(db)).id;
  unitId = (await createUnit(db, tenantId)).id;
  const dispatcher = await createUser(db, tenantId, { role: 'dispatcher' });
  people.set('dispatcher', dispatcher);
  dispatcherToken = (await createDeviceSession(db, dispatcher)).accessToken;
});
afterAll(async () => {
  for (const client of clients) await client.close();
  await h?.close();
  await rm(recordingsDir, { recursive: true, force: true });
});

async function user(name: string, role: Role = 'member'): Promise<TestUser> {
  let found = people.get(name);
  if (!found) {
    found = await createUser(h.db.database.db, tenantId, {
      role,
      displayName: name,
      unitIds: [unitId],
    });
    people.set(name, found);
  }
  return found;
}

async function client(name: string, role: Role = 'member'): Promise<PttTestClient> {
  const u = await user(name, role);
  const { accessToken } = await createDeviceSession(h.db.database.db, u);
  const c = await PttTestClient.connect(url, accessToken);
  clients.push(c);
  return c;
}

async function channel(body: Record<string, unknown> = {}): Promise<PttChannel> {
  const res = await apiAs(h.app, dispatcherToken)('POST', '/api/ptt/channels', {
    name: `Channel ${clients.length}`,
    members: { unitIds: [unitId], roles: [], userIds: [] },
    ...body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<PttChannel>();
}

/** Packets `listener` gets from `talker`'s producer during `ms`. */
async function heardDuring(
  listener: PttTestClient,
  channelId: string,
  talker: PttTestClient,
  ms: number,
): Promise<number> {
  const producerId = talker.producerId(channelId);
  const before = listener.inboundFrom(channelId, producerId);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return listener.inboundFrom(channelId, producerId) - before;
}

async function hears(listener: PttTestClient, channelId: string, talker: PttTestClient) {
  const producerId = talker.producerId(channelId);
  const start = listener.inboundFrom(channelId, producerId);
  return waitUntil(() => listener.inboundFrom(channelId, producerId) >= start + 10, 3000);
}

describe('push-to-talk floor control with a real SFU', () => {
  it('joins with the router capabilities and a send and a receive WebRTC transport', async () => {
    const ch = await channel();
    const a = await client('Anna');
    const joined = await a.join(ch.id);
    expect(joined.channel).toMatchObject({ id: ch.id, maxTalkSeconds: 30 });
    expect((joined.rtpCapabilities as { codecs: Array<{ mimeType: string }> }).codecs).toEqual(
      expect.arrayContaining([expect.objectContaining({ mimeType: 'audio/opus' })]),
    );
    expect(joined.sendTransport.id).not.toBe(joined.recvTransport.id);
    const candidates = joined.sendTransport.iceCandidates as Array<{
      protocol: string;
      port: number;
    }>;
    // One WebRtcServer per worker: both transports share its UDP port.
    const udp = candidates.find((c) => c.protocol === 'udp')!;
    const recvUdp = (joined.recvTransport.iceCandidates as typeof candidates).find(
      (c) => c.protocol === 'udp',
    )!;
    expect(udp.port).toBe(recvUdp.port);
    expect(joined.floor).toEqual({ channelId: ch.id, holder: null, queueLength: 0, turn: 0 });

    // Not a member: the channel does not exist for them.
    const outsider = await createUser(h.db.database.db, tenantId, { displayName: 'Outsider' });
    const token = (await createDeviceSession(h.db.database.db, outsider)).accessToken;
    const o = await PttTestClient.connect(url, token);
    clients.push(o);
    const ack = await o.call('ptt.join', { channelId: ch.id });
    expect(ack).toMatchObject({ ok: false, error: { code: 'PTT_CHANNEL_NOT_FOUND' } });
    // Asking for the floor without joining is refused.
    const notJoined = await o.call('ptt.floor.request', { channelId: ch.id });
    expect(notJoined).toMatchObject({ ok: false, error: { code: 'PTT_NOT_JOINED' } });
  });

  it('forwards only the holder: A is heard, B (sending all along) is queued and never heard', async () => {
    const ch = await channel();
    const [a, b, l] = [await client('Anna'), await client('Ben'), await client('Lena')];
    for (const c of [a, b, l]) await c.join(ch.id);
    await a.produce(ch.id);
    await b.produce(ch.id);
    const consumers = await l.consume(ch.id);
    expect(consumers.map((c) => c.producerId).sort()).toEqual(
      [a.producerId(ch.id), b.producerId(ch.id)].sort(),
    );
    // Both microphones send; without a grant the SFU forwards nothing.
    expect(await heardDuring(l, ch.id, a, 400)).toBe(0);
    expect(await heardDuring(l, ch.id, b, 0)).toBe(0);

    const granted = await a.request(ch.id);
    expect(granted).toMatchObject({ outcome: 'granted', emergencyId: null });
    expect(granted.floor.holder).toMatchObject({
      userId: people.get('Anna')!.id,
      displayName: 'Anna',
      priority: 'member',
      emergency: false,
    });
    expect(await hears(l, ch.id, a)).toBe(true);

    const queued = await b.request(ch.id);
    expect(queued).toMatchObject({ outcome: 'queued', queuePosition: 1 });
    expect(queued.floor.queueLength).toBe(1);
    expect(await heardDuring(l, ch.id, b, 500)).toBe(0);
    const state = await l.waitFor<PttFloorState>(
      PTT_SERVER_EVENTS.floor,
      (s) => s.channelId === ch.id && s.queueLength === 1,
    );
    expect(state.payload.holder?.displayName).toBe('Anna');

    // A lets go: B (still holding the button) gets the floor and is heard; A no longer.
    const since = performance.now();
    await a.release(ch.id);
    await b.waitFor<PttFloorGranted>(
      PTT_SERVER_EVENTS.granted,
      (g) => g.channelId === ch.id,
      3000,
      since,
    );
    expect(await hears(l, ch.id, b)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await heardDuring(l, ch.id, a, 400)).toBe(0);
    // Listeners learn of the ended turn from the floor message that follows it.
    const ended = await l.waitFor<PttFloorState>(
      PTT_SERVER_EVENTS.floor,
      (f) => f.channelId === ch.id && (f.ended?.length ?? 0) > 0,
    );
    expect(ended.payload.ended).toEqual([
      expect.objectContaining({ displayName: 'Anna', reason: 'released', mine: false }),
    ]);
    // Anna let go herself: no separate message tells her what she did.
    expect(a.received(PTT_SERVER_EVENTS.ended)).toEqual([]);
    await b.release(ch.id);
  });

  it('a dispatcher pre-empts a member, who is told why; an emergency call pre-empts the dispatcher and alerts dispatch with the position', async () => {
    const ch = await channel();
    const a = await client('Anna');
    const d = await client('dispatcher', 'dispatcher');
    const e = await client('Emil');
    const l = await client('Lena');
    const board = await client('Leo', 'lead'); // dispatch board: not in the channel
    for (const c of [a, d, e, l]) await c.join(ch.id);
    for (const c of [a, d, e]) await c.produce(ch.id);
    await l.consume(ch.id);

    expect((await a.request(ch.id)).outcome).toBe('granted');
    expect(await hears(l, ch.id, a)).toBe(true);

    const byDispatcher = await d.request(ch.id);
    expect(byDispatcher).toMatchObject({ outcome: 'granted' });
    expect(byDispatcher.floor.holder).toMatchObject({ priority: 'dispatcher', emergency: false });
    const told = await a.waitFor<PttFloorEnded>(PTT_SERVER_EVENTS.ended, (x) => x.mine);
    expect(told.payload).toMatchObject({
      channelId: ch.id,
      reason: 'preempted',
      byUserId: people.get('dispatcher')!.id,
      byEmergency: false,
    });
    expect(await hears(l, ch.id, d)).toBe(true);
    expect(await heardDuring(l, ch.id, a, 300)).toBe(0);

    // A member asking now is queued behind the dispatcher, not granted.
    expect((await a.request(ch.id)).outcome).toBe('queued');

    const position = { lat: 52.52, lon: 13.405, accuracy: 12 };
    const emergency = await e.request(ch.id, { emergency: true, position });
    expect(emergency.outcome).toBe('granted');
    expect(emergency.emergencyId).toEqual(expect.any(String));
    expect(emergency.floor.holder).toMatchObject({
      userId: people.get('Emil')!.id,
      emergency: true,
    });
    const dispatcherTold = await d.waitFor<PttFloorEnded>(PTT_SERVER_EVENTS.ended, (x) => x.mine);
    expect(dispatcherTold.payload).toMatchObject({ reason: 'preempted', byEmergency: true });
    expect(await hears(l, ch.id, e)).toBe(true);
    expect(await heardDuring(l, ch.id, d, 300)).toBe(0);

    // Dispatch (the board room) is alerted with the position; the row was stored first.
    const alert = await board.waitFor<PttEmergency>(PTT_SERVER_EVENTS.emergency);
    expect(alert.payload).toMatchObject({
      id: emergency.emergencyId,
      channelId: ch.id,
      userId: people.get('Emil')!.id,
      displayName: 'Emil',
      position: { lat: 52.52, lon: 13.405, accuracy: 12 },
      acknowledgedAt: null,
    });
    const [row] = await h.db.database.db
      .select()
      .from(pttEmergencies)
      .where(eq(pttEmergencies.id, emergency.emergencyId!));
    expect(row).toMatchObject({
      tenantId,
      channelId: ch.id,
      lat: 52.52,
      lon: 13.405,
      accuracyM: 12,
    });
    const audited = await h.db.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.action, 'ptt.emergency_raised')));
    expect(audited.map((r) => r.targetId)).toContain(emergency.emergencyId);

    // Even a dispatcher cannot break into an emergency call: queued.
    expect((await d.request(ch.id)).outcome).toBe('queued');

    // Dispatch acknowledges it.
    const ack = await apiAs(h.app, dispatcherToken)(
      'POST',
      `/api/ptt/emergencies/${emergency.emergencyId}/acknowledge`,
    );
    expect(ack.statusCode, ack.body).toBe(200);
    expect(ack.json<PttEmergency>().acknowledgedByUserId).toBe(people.get('dispatcher')!.id);
    await board.waitFor(PTT_SERVER_EVENTS.emergencyAcknowledged);
    const open = await apiAs(h.app, dispatcherToken)('GET', '/api/ptt/emergencies?open=true');
    expect(open.json<PttEmergency[]>().map((x) => x.id)).not.toContain(emergency.emergencyId);

    await e.release(ch.id);
    // The queue: the dispatcher (higher rank) before Anna.
    await d.waitFor<PttFloorGranted>(PTT_SERVER_EVENTS.granted, (g) => g.channelId === ch.id);
    await d.release(ch.id);
    await a.waitFor<PttFloorGranted>(PTT_SERVER_EVENTS.granted, (g) => g.channelId === ch.id);
    await a.release(ch.id);
  });

  it('a talker whose connection drops loses the floor; the next in the queue gets it', async () => {
    const ch = await channel();
    const a = await client('Anna');
    const b = await client('Ben');
    for (const c of [a, b]) {
      await c.join(ch.id);
      await c.produce(ch.id);
    }
    expect((await a.request(ch.id)).outcome).toBe('granted');
    expect((await b.request(ch.id)).outcome).toBe('queued');
    const since = performance.now();
    a.socket.disconnect();
    const granted = await b.waitFor<PttFloorGranted>(
      PTT_SERVER_EVENTS.granted,
      (g) => g.channelId === ch.id,
      3000,
      since,
    );
    expect(granted.at - since).toBeLessThan(1000);
    const ended = await b.waitFor<PttFloorState>(
      PTT_SERVER_EVENTS.floor,
      (f) => f.channelId === ch.id && (f.ended?.length ?? 0) > 0,
    );
    expect(ended.payload.ended).toEqual([
      expect.objectContaining({ userId: people.get('Anna')!.id, reason: 'left' }),
    ]);
    await b.release(ch.id);
  });

  it('warns the talker 5 s before the maximum talk time, then ends the turn', async () => {
    const ch = await channel({ maxTalkSeconds: 6 });
    const a = await client('Anna');
    const l = await client('Lena');
    await a.join(ch.id);
    await l.join(ch.id);
    await a.produce(ch.id);
    await l.consume(ch.id);
    const start = performance.now();
    const granted = await a.request(ch.id);
    expect(granted.floor.holder?.deadline).toEqual(expect.any(String));
    const warning = await a.waitFor<PttFloorWarning>(
      PTT_SERVER_EVENTS.warning,
      () => true,
      3000,
      start,
    );
    expect(warning.at - start).toBeGreaterThan(700);
    expect(warning.at - start).toBeLessThan(1800);
    expect(warning.payload.remainingMs).toBeGreaterThan(4000);
    expect(l.received(PTT_SERVER_EVENTS.warning)).toEqual([]); // the talker's tone only
    const ended = await a.waitFor<PttFloorEnded>(
      PTT_SERVER_EVENTS.ended,
      (x) => x.channelId === ch.id,
      8000,
      start,
    );
    expect(ended.payload).toMatchObject({ reason: 'expired', mine: true });
    expect(ended.at - start).toBeGreaterThan(5800);
    expect(ended.at - start).toBeLessThan(6800);
    expect(ended.at).toBeGreaterThan(warning.at);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await heardDuring(l, ch.id, a, 400)).toBe(0);
  });

  it('late entry: a member who joins during a transmission hears it at once', async () => {
    const ch = await channel();
    const a = await client('Anna');
    await a.join(ch.id);
    await a.produce(ch.id);
    expect((await a.request(ch.id)).outcome).toBe('granted');
    const j = await client('Jan');
    const start = performance.now();
    const joined = await j.join(ch.id);
    expect(joined.floor.holder?.displayName).toBe('Anna');
    const consumers = await j.consume(ch.id);
    expect(consumers.map((c) => c.producerId)).toEqual([a.producerId(ch.id)]);
    expect(await waitUntil(() => j.inboundFrom(ch.id, a.producerId(ch.id)) > 0, 3000)).toBe(true);
    const lateEntryMs = performance.now() - start;
    expect(lateEntryMs).toBeLessThan(2000);
    await a.release(ch.id);
  });

  it('scan: the selected channel wins over a scanned one, a priority channel over both', async () => {
    const x = await channel({ name: 'Selected' });
    const y = await channel({ name: 'Priority', priority: true });
    const z = await channel({ name: 'Scanned' });
    const l = await client('Lena');
    const talkers = { x: await client('Xaver'), y: await client('Yvonne'), z: await client('Zoe') };
    for (const [key, c] of Object.entries(talkers)) {
      const id = { x: x.id, y: y.id, z: z.id }[key as 'x' | 'y' | 'z'];
      await c.join(id);
      await c.produce(id);
    }
    for (const id of [x.id, z.id, y.id]) {
      await l.join(id);
      await l.consume(id);
    }
    const scan = await l.ok<PttAudible>('ptt.scan', {
      scanChannelIds: [z.id],
      selectedChannelId: x.id,
    });
    expect(scan.audibleChannelId).toBe(x.id);

    await talkers.z.request(z.id);
    await l.waitFor<PttAudible>(PTT_SERVER_EVENTS.audible, (p) => p.audibleChannelId === z.id);
    expect(await hears(l, z.id, talkers.z)).toBe(true);

    await talkers.x.request(x.id);
    await l.waitFor<PttAudible>(PTT_SERVER_EVENTS.audible, (p) => p.audibleChannelId === x.id);
    expect(await hears(l, x.id, talkers.x)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await heardDuring(l, z.id, talkers.z, 400)).toBe(0);

    await talkers.y.request(y.id);
    await l.waitFor<PttAudible>(PTT_SERVER_EVENTS.audible, (p) => p.audibleChannelId === y.id);
    expect(await hears(l, y.id, talkers.y)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await heardDuring(l, x.id, talkers.x, 400)).toBe(0);

    const since = performance.now();
    await talkers.y.release(y.id);
    await l.waitFor<PttAudible>(
      PTT_SERVER_EVENTS.audible,
      (p) => p.audibleChannelId === x.id,
      3000,
      since,
    );
    expect(await hears(l, x.id, talkers.x)).toBe(true);
    await talkers.x.release(x.id);
    await talkers.z.release(z.id);
  });

  it('records a transmission in a recorded channel: a row with talker and duration, Ogg Opus to download', async () => {
    const ch = await channel({ recorded: true });
    const a = await client('Anna');
    await a.join(ch.id);
    await a.produce(ch.id);
    const started = performance.now();
    expect((await a.request(ch.id)).outcome).toBe('granted');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await a.release(ch.id);
    const talkedMs = performance.now() - started;
    const db = h.db.database.db;
    const rows = async () =>
      db.select().from(pttRecordings).where(eq(pttRecordings.channelId, ch.id));
    await expect.poll(async () => (await rows()).length, { timeout: 5000 }).toBe(1);
    const [row] = await rows();
    expect(row).toMatchObject({ tenantId, talkerUserId: people.get('Anna')!.id });
    // The file holds what was forwarded from the grant to the release. Its duration counts
    // audio frames; the test's sender (a 20 ms timer on a busy machine) sends somewhat
    // fewer than wall time would allow.
    expect(row!.durationMs).toBeGreaterThan(1500 * 0.7);
    expect(row!.durationMs).toBeLessThan(talkedMs * 1.1);
    const file = await readFile(join(recordingsDir, row!.storagePath));
    expect(file.subarray(0, 4).toString()).toBe('OggS');
    expect(row!.bytes).toBe(file.length);

    const list = await apiAs(h.app, dispatcherToken)(
      'GET',
      `/api/ptt/channels/${ch.id}/recordings`,
    );
    expect(list.json<Array<{ id: string; talkerDisplayName: string }>>()).toEqual([
      expect.objectContaining({ id: row!.id, talkerDisplayName: 'Anna' }),
    ]);
    const audio = await apiAs(h.app, dispatcherToken)(
      'GET',
      `/api/ptt/recordings/${row!.id}/audio`,
    );
    expect(audio.statusCode).toBe(200);
    expect(audio.headers['content-type']).toBe('audio/ogg');
    expect(audio.rawPayload.equals(file)).toBe(true);
  });

  it('members who no longer belong are taken out; archiving takes everyone out', async () => {
    const ch = await channel();
    const a = await client('Anna');
    const b = await client('Ben');
    await a.join(ch.id);
    await b.join(ch.id);
    const narrowed = await apiAs(h.app, dispatcherToken)('PATCH', `/api/ptt/channels/${ch.id}`, {
      members: { unitIds: [], roles: [], userIds: [people.get('Anna')!.id] },
    });
    expect(narrowed.statusCode, narrowed.body).toBe(200);
    const out = await b.waitFor<{ channelId: string; reason: string }>(
      PTT_SERVER_EVENTS.channelLeft,
    );
    expect(out.payload).toEqual({ channelId: ch.id, reason: 'not_member' });
    expect(await b.call('ptt.floor.request', { channelId: ch.id })).toMatchObject({
      ok: false,
      error: { code: 'PTT_NOT_JOINED' },
    });
    expect(a.received(PTT_SERVER_EVENTS.channelLeft)).toEqual([]);
    const res = await apiAs(h.app, dispatcherToken)('PATCH', `/api/ptt/channels/${ch.id}`, {
      archived: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    const left = await a.waitFor<{ channelId: string; reason: string }>(
      PTT_SERVER_EVENTS.channelLeft,
    );
    expect(left.payload).toEqual({ channelId: ch.id, reason: 'archived' });
    const again = await a.call('ptt.join', { channelId: ch.id });
    expect(again).toMatchObject({ ok: false, error: { code: 'PTT_CHANNEL_ARCHIVED' } });
    // The socket connection itself is fine.
    const s = await connectSocket(
      url,
      (await createDeviceSession(h.db.database.db, await user('Anna'))).accessToken,
    );
    s.close();
  });
});
