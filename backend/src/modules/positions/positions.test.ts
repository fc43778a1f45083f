import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Socket } from 'socket.io-client';
import { eq } from 'drizzle-orm';
import type {
  AlarmBoard,
  AlarmBoardDelta,
  MapPosition,
  MemberPosition,
  PositionSharingState,
  SocketAck,
} from '@trupp/shared';
import { XMLParser } from 'fast-xml-parser';
import { buildApp } from '../../app.ts';
import { memberPositions, positionPoints } from '../../db/schema.ts';
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
import { positionService } from './service.ts';

/**
 * One app for the file with a short rate limit (300 ms per device) and a long live
 * interval (1 s per member), so both rules are visible without long waits.
 */
const MIN_INTERVAL_MS = 300;
const LIVE_INTERVAL_MS = 1000;

let h: TestApp;
let url: string;
let tenantId: string;
let dispatch: ReturnType<typeof apiAs>;
let dispatcherToken: string;
let admin: ReturnType<typeof apiAs>;
const sockets: Socket[] = [];

/** Musterstadt fire station and places around it. */
const STATION = { lat: 51.16, lon: 10.45 };
const NEAR = { lat: 51.17, lon: 10.46 }; // ~1.3 km
const FAR = { lat: 51.4, lon: 10.9 }; // ~40 km

const pause = (ms = MIN_INTERVAL_MS + 50) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  h = await createTestApp({
    POSITION_MIN_INTERVAL_MS: String(MIN_INTERVAL_MS),
    POSITION_LIVE_INTERVAL_MS: String(LIVE_INTERVAL_MS),
  });
  url = await listen(h.app);
  const db = h.db.database.db;
  tenantId = (await createTenant(db)).id;
  const dispatcher = await createUser(db, tenantId, { role: 'dispatcher' });
  dispatcherToken = (await createDeviceSession(db, dispatcher)).accessToken;
  dispatch = apiAs(h.app, dispatcherToken);
  const adminUser = await createUser(db, tenantId, { role: 'admin' });
  admin = apiAs(h.app, (await createDeviceSession(db, adminUser)).accessToken);
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await h?.close();
});

interface Member {
  user: TestUser;
  api: ReturnType<typeof apiAs>;
  socket: Socket;
}

async function memberWithSocket(
  name: string,
  options: { unitIds?: string[]; tenant?: string } = {},
): Promise<Member> {
  const user = await createUser(h.db.database.db, options.tenant ?? tenantId, {
    displayName: name,
    unitIds: options.unitIds,
  });
  const { accessToken } = await createDeviceSession(h.db.database.db, user);
  const socket = await connectSocket(url, accessToken);
  sockets.push(socket);
  return { user, api: apiAs(h.app, accessToken), socket };
}

async function consoleSocket(target = url, token = dispatcherToken): Promise<Socket> {
  const socket = await connectSocket(target, token);
  sockets.push(socket);
  return socket;
}

function report(socket: Socket, at: { lat: number; lon: number }, recordedAt = new Date()) {
  return socket.timeout(5000).emitWithAck('position.report', {
    ...at,
    accuracy: 12,
    recordedAt: recordedAt.toISOString(),
  }) as Promise<SocketAck<{ stored: boolean }>>;
}

const STORED = { ok: true, data: { stored: true } };
const NOT_SHARED = { ok: false, error: { code: 'POSITION_NOT_SHARED' } };

async function sharingOf(m: Member): Promise<PositionSharingState> {
  return (await m.api('GET', '/api/me/position-sharing')).json<PositionSharingState>();
}

async function livePositions(): Promise<MapPosition[]> {
  return (await dispatch('GET', '/api/positions')).json<MapPosition[]>();
}

/** Every `positions.updated` batch a console receives, with its arrival time. */
function collectBatches(socket: Socket): Array<{ at: number; batch: MemberPosition[] }> {
  const seen: Array<{ at: number; batch: MemberPosition[] }> = [];
  socket.on('positions.updated', (batch: MemberPosition[]) => seen.push({ at: Date.now(), batch }));
  return seen;
}

async function subscribe(socket: Socket, body: { unitId?: string } = {}) {
  return (await socket.timeout(5000).emitWithAck('positions.subscribe', body)) as SocketAck<{
    positions: MapPosition[];
  }>;
}

describe('sharing: switched on, and stopping', () => {
  it('stores positions only while switched on, in order, rate-limited; stop removes the marker', async () => {
    const m = await memberWithSocket('Nora');
    const board = await consoleSocket();
    const subscribed = await consoleSocket();
    expect(await subscribe(subscribed)).toMatchObject({ ok: true });
    expect(await report(m.socket, NEAR)).toMatchObject(NOT_SHARED);
    expect(await sharingOf(m)).toEqual({
      sharing: false,
      reason: null,
      until: null,
      onDutyEnabled: false,
      onDuty: true,
      stopped: false,
    });
    expect(
      (await m.api('PUT', '/api/me/position-sharing', { on: true, hours: 2 })).json(),
    ).toMatchObject({ sharing: true, reason: 'switched_on' });
    const legacy = nextEvent<MemberPosition>(board, 'position.updated');
    expect(await report(m.socket, NEAR)).toEqual(STORED);
    // Consoles that never subscribed still get single updates on the board room.
    expect(await legacy).toMatchObject({ userId: m.user.id, lat: NEAR.lat, accuracyM: 12 });
    // Faster than the per-device limit: not stored.
    expect(await report(m.socket, FAR)).toEqual({ ok: true, data: { stored: false } });
    await pause();
    // Out of order (measured before the stored one): dropped.
    expect(await report(m.socket, FAR, new Date(Date.now() - 60_000))).toEqual({
      ok: true,
      data: { stored: false },
    });
    for (const bad of [new Date(Date.now() + 120_000), new Date(Date.now() - 3600_000)]) {
      expect(await report(m.socket, NEAR, bad)).toMatchObject({
        ok: false,
        error: { code: 'POSITION_INVALID' },
      });
    }
    expect(
      await m.socket.timeout(5000).emitWithAck('position.report', { lat: 91, lon: 0, accuracy: 5 }),
    ).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(
      await m.socket.timeout(5000).emitWithAck('position.report', {
        ...NEAR,
        accuracy: 5,
        recordedAt: 'yesterday',
      }),
    ).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect((await livePositions()).map((p) => p.displayName)).toContain('Nora');

    // Stopping removes the marker on every console and deletes the last position.
    const removedBoard = nextEvent<{ userId: string }>(board, 'position.removed');
    const removedSubscribed = nextEvent<{ userId: string }>(subscribed, 'position.removed');
    expect((await m.api('PUT', '/api/me/position-sharing', { on: false })).json()).toMatchObject({
      sharing: false,
      reason: null,
    });
    expect(await removedBoard).toEqual({ userId: m.user.id });
    expect(await removedSubscribed).toEqual({ userId: m.user.id });
    expect((await livePositions()).map((p) => p.userId)).not.toContain(m.user.id);
    await positionService(h.app).flush();
    expect(
      await h.db.database.db
        .select()
        .from(memberPositions)
        .where(eq(memberPositions.userId, m.user.id)),
    ).toEqual([]);
    const area = await dispatch('POST', '/api/alarms', {
      keyword: 'X',
      targets: { area: { kind: 'circle', ...NEAR, radiusKm: 1 } },
    });
    expect(area.json()).toMatchObject({ code: 'ALARM_NO_RECIPIENTS' });
    await pause();
    expect(await report(m.socket, NEAR)).toMatchObject(NOT_SHARED);
  });
});

describe('sharing: coming to an alarm', () => {
  it('shares while coming to an open alarm, until it closes; a stop holds for that alarm only', async () => {
    const m = await memberWithSocket('Coming');
    const raise = async () =>
      (
        await dispatch('POST', '/api/alarms', { keyword: 'B2', targets: { userIds: [m.user.id] } })
      ).json<AlarmBoard>().alarm.id;
    const first = await raise();
    expect(await report(m.socket, NEAR)).toMatchObject(NOT_SHARED);
    const changed = nextEvent(m.socket, 'position.sharing_changed');
    await m.api('POST', `/api/me/alarms/${first}/response`, { response: 'coming', etaMinutes: 4 });
    await changed;
    expect(await sharingOf(m)).toMatchObject({ sharing: true, reason: 'alarm' });
    expect(await report(m.socket, NEAR)).toEqual(STORED);

    // Stop while coming: refused, also for this alarm.
    await m.api('PUT', '/api/me/position-sharing', { on: false });
    expect(await sharingOf(m)).toMatchObject({ sharing: false, stopped: true });
    await pause();
    expect(await report(m.socket, NEAR)).toMatchObject(NOT_SHARED);
    // Answering "coming" to the next alarm shares again.
    const second = await raise();
    await m.api('POST', `/api/me/alarms/${second}/response`, { response: 'coming', etaMinutes: 4 });
    expect(await sharingOf(m)).toMatchObject({ sharing: true, reason: 'alarm' });
    expect(await report(m.socket, NEAR)).toEqual(STORED);

    // Closing the alarm ends it, and the device is told to read its state again.
    const ended = nextEvent(m.socket, 'position.sharing_changed');
    await dispatch('POST', `/api/alarms/${second}/close`);
    await ended;
    expect(await sharingOf(m)).toMatchObject({ sharing: false, reason: null });
    await pause();
    expect(await report(m.socket, NEAR)).toMatchObject(NOT_SHARED);
    await dispatch('POST', `/api/alarms/${first}/close`);
  });
});

describe('sharing: on duty', () => {
  it('only where the organisation enables it; follows availability; a stop holds until availability changes', async () => {
    const m = await memberWithSocket('On duty');
    expect(await report(m.socket, NEAR)).toMatchObject(NOT_SHARED);
    const enabled = await admin('PATCH', '/api/tenant', { positionShareOnDuty: true });
    expect(enabled.json()).toMatchObject({ positionShareOnDuty: true });
    try {
      expect(await sharingOf(m)).toMatchObject({
        sharing: true,
        reason: 'on_duty',
        onDutyEnabled: true,
      });
      expect(await report(m.socket, NEAR)).toEqual(STORED);

      await m.api('PUT', '/api/me/availability', { status: 'unavailable' });
      expect(await sharingOf(m)).toMatchObject({ sharing: false, onDuty: false });
      await pause();
      expect(await report(m.socket, NEAR)).toMatchObject(NOT_SHARED);

      await m.api('PUT', '/api/me/availability', { status: 'available' });
      expect(await report(m.socket, FAR)).toEqual(STORED);

      // The member stops: off although on duty, until they change their availability.
      await m.api('PUT', '/api/me/position-sharing', { on: false });
      expect(await sharingOf(m)).toMatchObject({ sharing: false, onDuty: true, stopped: true });
      await pause();
      expect(await report(m.socket, NEAR)).toMatchObject(NOT_SHARED);
      await pause(20);
      await m.api('PUT', '/api/me/availability', { status: 'available' });
      expect(await sharingOf(m)).toMatchObject({ sharing: true, reason: 'on_duty' });
      expect(await report(m.socket, NEAR)).toEqual(STORED);
    } finally {
      await admin('PATCH', '/api/tenant', { positionShareOnDuty: false });
    }
    expect(await sharingOf(m)).toMatchObject({ sharing: false, onDutyEnabled: false });
    await pause();
    expect(await report(m.socket, NEAR)).toMatchObject(NOT_SHARED);
  });
});

describe('cheap reports and batched writes', () => {
  it('a cached report costs no query; one flush writes all members with one upsert and one insert', async () => {
    const members = await Promise.all(
      ['Batch 1', 'Batch 2', 'Batch 3', 'Batch 4'].map((n) => memberWithSocket(n)),
    );
    for (const m of members) await m.api('PUT', '/api/me/position-sharing', { on: true });
    const service = positionService(h.app);
    await service.flush();
    // The first report of each member loads their facts; later ones only use the cache.
    for (const m of members) expect(await report(m.socket, STATION)).toEqual(STORED);
    await service.flush();
    await pause();

    const pool = h.db.database.pool;
    const statements: string[] = [];
    const original = { query: pool.query, execute: pool.execute };
    const spy = (kind: 'query' | 'execute') =>
      function (this: unknown, ...args: unknown[]) {
        const first = args[0];
        statements.push(typeof first === 'string' ? first : JSON.stringify(first));
        return (original[kind] as (...a: unknown[]) => unknown).apply(pool, args);
      };
    pool.query = spy('query') as typeof pool.query;
    pool.execute = spy('execute') as typeof pool.execute;
    try {
      for (const [i, m] of members.entries()) {
        expect(await report(m.socket, { lat: NEAR.lat + i / 1000, lon: NEAR.lon })).toEqual(STORED);
      }
      expect(statements).toEqual([]);
      await service.flush();
    } finally {
      pool.query = original.query;
      pool.execute = original.execute;
    }
    expect(statements).toHaveLength(2);
    expect(statements[0]).toMatch(/^INSERT INTO member_positions/);
    expect(statements[1]).toMatch(/^INSERT INTO position_points/);
    const stored = await h.db.database.db.select().from(memberPositions);
    for (const [i, m] of members.entries()) {
      expect(stored.find((r) => r.userId === m.user.id)).toMatchObject({
        lat: NEAR.lat + i / 1000,
      });
    }
  });

  it('a batch written late never moves a member back to an older position', async () => {
    const m = await memberWithSocket('Late batch');
    const service = positionService(h.app);
    const base = {
      tenantId,
      userId: m.user.id,
      deviceId: 'd',
      accuracyM: 5,
      heading: null,
      speedKmh: null,
      receivedAt: new Date(),
    };
    // Far from every area the other tests target.
    const newer = { lat: 48.1, lon: 11.5 };
    const older = { lat: 48.2, lon: 11.6 };
    service.writer.add({ ...base, ...newer, recordedAt: new Date(Date.now() - 1000) });
    await service.flush();
    service.writer.add({ ...base, ...older, recordedAt: new Date(Date.now() - 5000) });
    await service.flush();
    const [row] = await h.db.database.db
      .select()
      .from(memberPositions)
      .where(eq(memberPositions.userId, m.user.id));
    expect(row).toMatchObject(newer);
    // Both points are in the track.
    expect(
      await h.db.database.db
        .select()
        .from(positionPoints)
        .where(eq(positionPoints.userId, m.user.id)),
    ).toHaveLength(2);
  });
});

describe('live updates to consoles', () => {
  it('subscribed consoles get coalesced batches, per tenant or per unit', async () => {
    const db = h.db.database.db;
    const station = await createUnit(db, tenantId, { name: 'Station Nord' });
    const squad = await createUnit(db, tenantId, { name: 'Squad 1', parentId: station.id });
    const other = await createUnit(db, tenantId, { name: 'Station Süd' });
    const inSquad = await memberWithSocket('Squad member', { unitIds: [squad.id] });
    const elsewhere = await memberWithSocket('South member', { unitIds: [other.id] });
    for (const m of [inSquad, elsewhere]) {
      await m.api('PUT', '/api/me/position-sharing', { on: true });
    }
    expect(await report(elsewhere.socket, FAR)).toEqual(STORED);
    // That update has left (one tick) before the consoles below subscribe.
    await pause(200);

    const whole = await consoleSocket();
    const snapshot = await subscribe(whole);
    expect(snapshot.ok && snapshot.data.positions.map((p) => p.displayName)).toContain(
      'South member',
    );
    const lead = await consoleSocket();
    const unitSnapshot = await subscribe(lead, { unitId: station.id });
    expect(unitSnapshot.ok && unitSnapshot.data.positions).toEqual([]);
    const wholeBatches = collectBatches(whole);
    const leadBatches = collectBatches(lead);
    let legacySingles = 0;
    whole.on('position.updated', () => legacySingles++);

    // Five reports within about 1.5 s: at most two live updates, the newest one last.
    const start = Date.now();
    const sent: number[] = [];
    for (let i = 0; i < 5; i++) {
      if (i > 0) await pause();
      sent.push(NEAR.lat + i / 1000);
      expect(await report(inSquad.socket, { lat: sent[i]!, lon: NEAR.lon })).toEqual(STORED);
    }
    await pause(LIVE_INTERVAL_MS + 200);
    expect(await report(elsewhere.socket, STATION)).toEqual(STORED);
    await pause(300);

    const forMember = (seen: typeof wholeBatches, userId: string) =>
      seen.flatMap(({ at, batch }) =>
        batch.filter((p) => p.userId === userId).map((p) => ({ at, p })),
      );
    const squadUpdates = forMember(wholeBatches, inSquad.user.id);
    const elapsed = Date.now() - start;
    expect(squadUpdates.length).toBeGreaterThanOrEqual(2);
    expect(squadUpdates.length).toBeLessThanOrEqual(Math.ceil(elapsed / LIVE_INTERVAL_MS) + 1);
    for (let i = 1; i < squadUpdates.length; i++) {
      expect(squadUpdates[i]!.at - squadUpdates[i - 1]!.at).toBeGreaterThanOrEqual(
        LIVE_INTERVAL_MS - 100,
      );
    }
    // Latest wins: the last update carries the last report.
    expect(squadUpdates.at(-1)!.p.lat).toBe(sent.at(-1));
    expect(forMember(wholeBatches, elsewhere.user.id).map((u) => u.p.lat)).toEqual([STATION.lat]);
    // The lead subscribed to the station sees its squad, not the other station.
    expect(forMember(leadBatches, inSquad.user.id).at(-1)!.p.lat).toBe(sent.at(-1));
    expect(forMember(leadBatches, elsewhere.user.id)).toEqual([]);
    // A subscribed console gets batches only, not the single updates as well.
    expect(legacySingles).toBe(0);

    // Unsubscribed: nothing more.
    expect(await lead.timeout(5000).emitWithAck('positions.unsubscribe', {})).toEqual({
      ok: true,
      data: null,
    });
    const before = leadBatches.length;
    await pause();
    expect(await report(inSquad.socket, STATION)).toEqual(STORED);
    await pause(LIVE_INTERVAL_MS + 200);
    expect(leadBatches.length).toBe(before);
  });

  it('refuses units of other organisations and members without the board', async () => {
    const otherTenant = await createTenant(h.db.database.db);
    const foreign = await createUnit(h.db.database.db, otherTenant.id);
    expect(await subscribe(await consoleSocket(), { unitId: foreign.id })).toMatchObject({
      ok: false,
      error: { code: 'UNIT_NOT_FOUND' },
    });
    const m = await memberWithSocket('Curious');
    expect(await subscribe(m.socket)).toMatchObject({
      ok: false,
      error: { code: 'AUTH_FORBIDDEN' },
    });
  });
});

describe('distance and ETA on the alarm board', () => {
  it('shows how far a coming member is and when they arrive at the configured speed', async () => {
    const m = await memberWithSocket('Driver');
    const raised = await dispatch('POST', '/api/alarms', {
      keyword: 'TH1',
      location: STATION,
      targets: { userIds: [m.user.id] },
    });
    const alarmId = raised.json<AlarmBoard>().alarm.id;
    const board = await consoleSocket();
    await board.timeout(5000).emitWithAck('alarm.watch', { alarmId });
    await m.api('POST', `/api/me/alarms/${alarmId}/response`, { response: 'coming' });
    const deltas: AlarmBoardDelta[] = [];
    board.on('alarm.board', (d: AlarmBoardDelta) => deltas.push(d));
    expect(await report(m.socket, NEAR)).toEqual(STORED);
    await expect
      .poll(() => deltas.flatMap((d) => d.recipients).find((r) => r.distanceKm !== undefined))
      .toMatchObject({ userId: m.user.id, distanceKm: 1.3, positionEtaMinutes: 2 });
    await positionService(h.app).flush();
    const loaded = (await dispatch('GET', `/api/alarms/${alarmId}`)).json<AlarmBoard>();
    expect(loaded.recipients[0]).toMatchObject({
      displayName: 'Driver',
      distanceKm: 1.3,
      positionEtaMinutes: 2,
    });
    await dispatch('POST', `/api/alarms/${alarmId}/close`);
  });
});

describe('last known positions for area targets, tracks', () => {
  it('alerts members inside a circle or polygon around the incident, not those outside', async () => {
    const near = await memberWithSocket('Near');
    const far = await memberWithSocket('Far');
    await memberWithSocket('Not sharing');
    for (const [m, at] of [
      [near, NEAR],
      [far, FAR],
    ] as const) {
      await m.api('PUT', '/api/me/position-sharing', { on: true });
      expect(await report(m.socket, at)).toEqual(STORED);
    }
    // Area targets read MariaDB, which the next batch brings up to date.
    await positionService(h.app).flush();
    const circle = await dispatch('POST', '/api/alarms', {
      keyword: 'Flächenlage',
      location: STATION,
      targets: { area: { kind: 'circle', ...STATION, radiusKm: 5 } },
    });
    expect(circle.statusCode).toBe(201);
    const names = circle.json<AlarmBoard>().recipients.map((r) => r.displayName);
    expect(names).toContain('Near');
    expect(names).not.toContain('Far');
    expect(names).not.toContain('Not sharing');

    const ring: Array<[number, number]> = [
      [10.8, 51.3],
      [11.0, 51.3],
      [11.0, 51.5],
      [10.8, 51.5],
      [10.8, 51.3],
    ];
    const poly = await dispatch('POST', '/api/alarms', {
      keyword: 'Waldbrand',
      targets: { area: { kind: 'polygon', ring } },
    });
    expect(poly.json<AlarmBoard>().recipients.map((r) => r.displayName)).toEqual(['Far']);
    const open = await dispatch('POST', '/api/alarms', {
      keyword: 'X',
      targets: { area: { kind: 'polygon', ring: ring.slice(0, 4) } },
    });
    expect(open.statusCode).toBe(400);
  });

  it('exports a track as GPX and GeoJSON, and the retention job deletes expired points', async () => {
    const m = await memberWithSocket('Track');
    await m.api('PUT', '/api/me/position-sharing', { on: true });
    const points = [
      { lat: 51.16, lon: 10.45 },
      { lat: 51.161, lon: 10.451 },
      { lat: 51.162, lon: 10.452 },
    ];
    for (const [i, at] of points.entries()) {
      if (i > 0) await pause();
      expect(await report(m.socket, at)).toEqual(STORED);
    }
    const gpx = await dispatch('GET', `/api/positions/${m.user.id}/track`);
    expect(gpx.statusCode).toBe(200);
    expect(gpx.headers['content-type']).toContain('application/gpx+xml');
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
      gpx.body,
    ) as {
      gpx: {
        version: string;
        trk: { name: string; trkseg: { trkpt: Array<{ lat: string; lon: string; time: string }> } };
      };
    };
    expect(parsed.gpx.version).toBe('1.1');
    expect(parsed.gpx.trk.name).toBe('Track');
    expect(parsed.gpx.trk.trkseg.trkpt.map((p) => [Number(p.lat), Number(p.lon)])).toEqual(
      points.map((p) => [p.lat, p.lon]),
    );
    const geo = await dispatch('GET', `/api/positions/${m.user.id}/track?format=geojson`);
    expect(JSON.parse(geo.body).features[0].geometry.coordinates).toHaveLength(3);
    // Members cannot read others' tracks; another tenant's member is unknown.
    expect((await m.api('GET', `/api/positions/${m.user.id}/track`)).statusCode).toBe(403);
    const other = await createTenant(h.db.database.db);
    const stranger = await createUser(h.db.database.db, other.id);
    expect((await dispatch('GET', `/api/positions/${stranger.id}/track`)).statusCode).toBe(404);

    // Default retention: 24 hours.
    await applyRetention(h.app, new Date(Date.now() + 25 * 3600_000));
    const after = await dispatch('GET', `/api/positions/${m.user.id}/track`);
    expect(after.body).not.toContain('<trkpt');
  });
});

describe('two nodes with Redis', () => {
  let nodeA: FastifyInstance;
  let nodeB: FastifyInstance;
  let redisA: Redis;
  let redisB: Redis;
  let urlA: string;
  let urlB: string;

  beforeAll(async () => {
    const streamName = `trupp-test-${randomBytes(4).toString('hex')}`;
    redisA = new Redis('redis://127.0.0.1:6379');
    redisB = new Redis('redis://127.0.0.1:6379');
    for (const [redis, set] of [
      [redisA, (a: FastifyInstance) => (nodeA = a)],
      [redisB, (b: FastifyInstance) => (nodeB = b)],
    ] as const) {
      set(
        await buildApp({
          // Batches are written only when a test flushes, so a write that a stop on the
          // other node failed to cancel would show.
          config: { ...h.config, positionWriteIntervalMs: 60_000 },
          database: h.db.database,
          redis,
          socketStreamName: streamName,
        }),
      );
    }
    urlA = await listen(nodeA);
    urlB = await listen(nodeB);
    // The streams adapter learns of the other node from its heartbeat.
    await pause(1500);
  });
  afterAll(async () => {
    await nodeA?.close();
    await nodeB?.close();
    redisA?.disconnect();
    redisB?.disconnect();
  });

  it('shares one cache: stop, alarm close, order and live batches hold across nodes', async () => {
    const user = await createUser(h.db.database.db, tenantId, { displayName: 'Two nodes' });
    const deviceA = await createDeviceSession(h.db.database.db, user);
    const deviceB = await createDeviceSession(h.db.database.db, user);
    const onA = await connectSocket(urlA, deviceA.accessToken);
    const onB = await connectSocket(urlB, deviceB.accessToken);
    sockets.push(onA, onB);
    const apiB = apiAs(nodeB, deviceB.accessToken);
    const consoleB = await consoleSocket(urlB);
    expect(await subscribe(consoleB)).toMatchObject({ ok: true });
    const batches = collectBatches(consoleB);

    expect(await report(onA, NEAR)).toMatchObject(NOT_SHARED);
    // Switched on through node B; node A sees it at once.
    await apiB('PUT', '/api/me/position-sharing', { on: true });
    const t1 = new Date();
    expect(await report(onA, NEAR, t1)).toEqual(STORED);
    // The same member's other device on node B with an older fix: out of order.
    expect(await report(onB, FAR, new Date(t1.getTime() - 1000))).toEqual({
      ok: true,
      data: { stored: false },
    });
    // A report accepted on node A reaches a console on node B in a batch.
    await expect.poll(() => batches.flatMap((b) => b.batch).map((p) => p.lat)).toContain(NEAR.lat);
    // Both nodes list it (node B from the shared cache, before any batch was written).
    const viaB = (await apiAs(nodeB, dispatcherToken)('GET', '/api/positions')).json<
      MapPosition[]
    >();
    expect(viaB.find((p) => p.userId === user.id)).toMatchObject({ lat: NEAR.lat });

    // Stop on node B: node A refuses at once and its pending write never lands.
    const removed = nextEvent<{ userId: string }>(consoleB, 'position.removed');
    await pause();
    expect(await report(onA, FAR)).toEqual(STORED);
    // Written: the row exists. The next one waits in node A's batch.
    await positionService(nodeA).flush();
    const [written] = await h.db.database.db
      .select()
      .from(memberPositions)
      .where(eq(memberPositions.userId, user.id));
    expect(written).toMatchObject(FAR);
    await pause();
    expect(await report(onA, NEAR)).toEqual(STORED);
    await apiB('PUT', '/api/me/position-sharing', { on: false });
    expect(await removed).toEqual({ userId: user.id });
    await pause();
    expect(await report(onA, NEAR)).toMatchObject(NOT_SHARED);
    await positionService(nodeA).flush();
    expect(
      await h.db.database.db
        .select()
        .from(memberPositions)
        .where(eq(memberPositions.userId, user.id)),
    ).toEqual([]);

    // Coming to an alarm raised and closed through node B.
    const alarmId = (
      await apiAs(nodeB, dispatcherToken)('POST', '/api/alarms', {
        keyword: 'B3',
        targets: { userIds: [user.id] },
      })
    ).json<AlarmBoard>().alarm.id;
    await apiB('POST', `/api/me/alarms/${alarmId}/response`, { response: 'coming' });
    expect(await report(onA, NEAR)).toEqual(STORED);
    await apiAs(nodeB, dispatcherToken)('POST', `/api/alarms/${alarmId}/close`);
    await pause();
    expect(await report(onA, NEAR)).toMatchObject(NOT_SHARED);
  });
});
