import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destination, point } from '@turf/turf';
import type { Socket } from 'socket.io-client';
import type { AlarmBoard, Geofence, GeofenceCrossing, SocketAck } from '@trupp/shared';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUser,
  type TestUser,
} from '../../test/factories.ts';
import { connectSocket, listen } from '../../test/realtime.ts';
import { eq } from 'drizzle-orm';
import { geofencePresence } from '../../db/schema.ts';
import { applyRetention } from '../retention/service.ts';
import { GeofenceEngine, type Crossing, type Fix } from './engine.ts';

let h: TestApp;
let url: string;
let tenantId: string;
let dispatch: ReturnType<typeof apiAs>;
/** The dispatcher's socket (board room): every geofence event it hears, in order. */
const heard: Array<{ event: string; crossing: GeofenceCrossing }> = [];
const sockets: Socket[] = [];

/** Musterstadt fire station. */
const STATION = { lat: 51.16, lon: 10.45 };

/** The point `metres` east of `from`. */
function east(from: { lat: number; lon: number }, metres: number): { lat: number; lon: number } {
  const [lon, lat] = destination(point([from.lon, from.lat]), metres, 90, { units: 'meters' })
    .geometry.coordinates as [number, number];
  return { lat, lon };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  h = await createTestApp();
  url = await listen(h.app);
  const db = h.db.database.db;
  tenantId = (await createTenant(db)).id;
  const dispatcher = await createUser(db, tenantId, { role: 'dispatcher' });
  const { accessToken } = await createDeviceSession(db, dispatcher);
  dispatch = apiAs(h.app, accessToken);
  const socket = await connectSocket(url, accessToken);
  sockets.push(socket);
  for (const event of ['geofence.entered', 'geofence.exited']) {
    socket.on(event, (crossing: GeofenceCrossing) => heard.push({ event, crossing }));
  }
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await h?.close();
});

async function member(
  name: string,
  tenant = tenantId,
): Promise<{ user: TestUser; api: ReturnType<typeof apiAs>; socket: Socket }> {
  const user = await createUser(h.db.database.db, tenant, { displayName: name });
  const { accessToken } = await createDeviceSession(h.db.database.db, user);
  const socket = await connectSocket(url, accessToken);
  sockets.push(socket);
  return { user, api: apiAs(h.app, accessToken), socket };
}

function report(socket: Socket, at: { lat: number; lon: number }, accuracy = 12) {
  return socket.timeout(5000).emitWithAck('position.report', {
    ...at,
    accuracy,
    recordedAt: new Date().toISOString(),
  }) as Promise<SocketAck<{ stored: boolean }>>;
}

async function createFence(body: object): Promise<Geofence> {
  const res = await dispatch('POST', '/api/geofences', body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<Geofence>();
}

/** A fresh engine on the test database (what a node has right after a restart). */
function freshEngine(): { engine: GeofenceEngine; published: Crossing[] } {
  const published: Crossing[] = [];
  const engine = new GeofenceEngine({
    db: h.db.database.db,
    log: h.app.log,
    publish: (c) => published.push(c),
  });
  return { engine, published };
}

let clock = Date.now() - 5 * 60_000;
function fix(
  userId: string,
  at: { lat: number; lon: number },
  accuracyM = 12,
  tenant = tenantId,
): Fix {
  clock += 1000;
  return { tenantId: tenant, userId, ...at, accuracyM, recordedAt: new Date(clock) };
}

describe('geofences', () => {
  it('refuses bad shapes and names with coded 4xx and writes nothing', async () => {
    const before = (await dispatch('GET', '/api/geofences')).json<Geofence[]>().length;
    const square = (size: number): Array<[number, number]> => [
      [10.4, 51.1],
      [10.4 + size, 51.1],
      [10.4 + size, 51.1 + size],
      [10.4, 51.1 + size],
      [10.4, 51.1],
    ];
    const bowTie: Array<[number, number]> = [
      [10.4, 51.1],
      [10.5, 51.2],
      [10.5, 51.1],
      [10.4, 51.2],
      [10.4, 51.1],
    ];
    const many = Array.from({ length: 600 }, (_, i) => {
      const a = (i / 600) * 2 * Math.PI;
      return [10.45 + 0.01 * Math.cos(a), 51.16 + 0.01 * Math.sin(a)] as [number, number];
    });
    many.push(many[0]!);
    const cases: Array<[object, string, string?]> = [
      [{ kind: 'polygon', ring: square(0.01).slice(0, 4) }, 'GEOFENCE_GEOMETRY_INVALID', 'end'],
      [{ kind: 'polygon', ring: bowTie }, 'GEOFENCE_GEOMETRY_INVALID', 'crosses itself'],
      [{ kind: 'polygon', ring: many }, 'GEOFENCE_GEOMETRY_INVALID', 'at most'],
      [
        {
          kind: 'polygon',
          ring: [
            [10.4, 51.1],
            [10.5, 51.1],
            [10.6, 51.1],
            [10.4, 51.1],
          ],
        },
        'GEOFENCE_GEOMETRY_INVALID',
        'no area',
      ],
      [{ kind: 'polygon', ring: [[10.4, 51.1]] }, 'GEOFENCE_GEOMETRY_INVALID'],
      [{ kind: 'circle', ...STATION, radiusM: 5 }, 'GEOFENCE_GEOMETRY_INVALID', 'radius'],
      [{ kind: 'circle', lat: 95, lon: 10, radiusM: 100 }, 'VALIDATION_FAILED'],
      [{ kind: 'polygon', ring: [[200, 51.1], ...square(0.01)] }, 'VALIDATION_FAILED'],
      [{ kind: 'triangle' }, 'VALIDATION_FAILED'],
    ];
    for (const [geometry, code, text] of cases) {
      const res = await dispatch('POST', '/api/geofences', {
        name: 'Bad',
        kind: 'danger',
        geometry,
      });
      expect(res.statusCode, JSON.stringify(geometry).slice(0, 80)).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(res.json().code).toBe(code);
      if (text) expect(res.json().message).toContain(text);
    }
    const ok = await createFence({
      name: 'Square',
      kind: 'operation',
      geometry: { kind: 'polygon', ring: square(0.01) },
    });
    const twice = await dispatch('POST', '/api/geofences', {
      name: 'square',
      kind: 'other',
      geometry: { kind: 'circle', ...STATION, radiusM: 50 },
    });
    expect(twice.json().code).toBe('GEOFENCE_NAME_TAKEN');
    const reshaped = await dispatch('PATCH', `/api/geofences/${ok.id}`, {
      geometry: { kind: 'polygon', ring: bowTie },
    });
    expect(reshaped.json().code).toBe('GEOFENCE_GEOMETRY_INVALID');
    const list = (await dispatch('GET', '/api/geofences')).json<Geofence[]>();
    expect(list).toHaveLength(before + 1);
    expect(list.find((g) => g.id === ok.id)?.geometry).toEqual({
      kind: 'polygon',
      ring: square(0.01).map(([lon, lat]) => [
        Math.round(lon * 1e7) / 1e7,
        Math.round(lat * 1e7) / 1e7,
      ]),
    });

    // Members may look but not draw; leads may draw.
    const m = await member('Looker');
    expect((await m.api('GET', '/api/geofences')).statusCode).toBe(200);
    expect(
      (
        await m.api('POST', '/api/geofences', {
          name: 'Mine',
          kind: 'other',
          geometry: { kind: 'circle', ...STATION, radiusM: 50 },
        })
      ).json().code,
    ).toBe('AUTH_FORBIDDEN');
    expect((await m.api('GET', '/api/geofences/presence')).statusCode).toBe(403);
    const lead = await createUser(h.db.database.db, tenantId, { role: 'lead' });
    const leadApi = apiAs(h.app, (await createDeviceSession(h.db.database.db, lead)).accessToken);
    const renamed = await leadApi('PATCH', `/api/geofences/${ok.id}`, { name: 'Einsatzraum' });
    expect(renamed.json()).toMatchObject({ name: 'Einsatzraum', kind: 'operation' });
    expect((await leadApi('DELETE', `/api/geofences/${ok.id}`)).statusCode).toBe(204);
    expect((await leadApi('DELETE', `/api/geofences/${ok.id}`)).json().code).toBe(
      'GEOFENCE_NOT_FOUND',
    );
  });

  it('fires enter and exit once per crossing on a jittery walk, and survives a restart', async () => {
    const fence = await createFence({
      name: 'Wache Nord',
      kind: 'station',
      geometry: { kind: 'circle', lat: 51.3, lon: 10.3, radiusM: 200 },
      statusText: 'An der Wache',
    });
    const centre = { lat: 51.3, lon: 10.3 };
    const walker = await createUser(h.db.database.db, tenantId, { displayName: 'Walker' });
    const { engine, published } = freshEngine();
    // Metres from the centre, accuracy 12 m: the margin is 12 m, so entering needs < 188 m
    // and leaving > 212 m. Fixes that wobble across the 200 m border change nothing.
    const walk = [
      400, 300, 215, 195, 205, 190, 199, 150, 190, 210, 195, 205, 211, 230, 205, 195, 189, 180,
    ];
    const expected = [7, 13, 17]; // indices of the fixes that cross: enter, exit, enter
    const crossingsAt: number[] = [];
    for (const [i, metres] of walk.entries()) {
      const crossings = await engine.evaluate(fix(walker.id, east(centre, metres)));
      if (crossings.length > 0) crossingsAt.push(i);
    }
    expect(crossingsAt).toEqual(expected);
    expect(published.map((c) => [c.entered, c.geofenceName, c.statusText])).toEqual([
      [true, 'Wache Nord', 'An der Wache'],
      [false, 'Wache Nord', 'An der Wache'],
      [true, 'Wache Nord', 'An der Wache'],
    ]);
    expect(published[0]).toMatchObject({ userId: walker.id, displayName: 'Walker' });

    // A poor fix (accuracy 150 m) 100 m outside does not take them out; a good one does.
    expect(await engine.evaluate(fix(walker.id, east(centre, 300), 150))).toEqual([]);

    // A restarted node (fresh engine, empty caches) knows they are inside: no second enter.
    const restarted = freshEngine();
    expect(await restarted.engine.evaluate(fix(walker.id, east(centre, 100)))).toEqual([]);
    const out = await restarted.engine.evaluate(fix(walker.id, east(centre, 260)));
    expect(out.map((c) => c.entered)).toEqual([false]);
    // The old node, whose cache still says inside, sees the row already changed: no second exit.
    expect(await engine.evaluate(fix(walker.id, east(centre, 270)))).toEqual([]);

    // Two nodes deciding the same enter at the same moment: announced once.
    const [a, b] = await Promise.all([
      engine.evaluate(fix(walker.id, east(centre, 50))),
      freshEngine().engine.evaluate(fix(walker.id, east(centre, 50))),
    ]);
    expect(a.length + b.length).toBe(1);
    void fence;
  });

  it('tells dispatch live, gives the status while inside, clears it on exit, and stops with sharing', async () => {
    await createFence({
      name: 'Gerätehaus',
      kind: 'station',
      geometry: { kind: 'circle', ...STATION, radiusM: 150 },
      statusText: 'An der Wache',
    });
    const m = await member('Mia');
    await m.api('PUT', '/api/me/position-sharing', { on: true });
    heard.length = 0;
    const presence = async () =>
      (await dispatch('GET', '/api/geofences/presence'))
        .json<Array<{ userId: string; statusText: string | null }>>()
        .filter((p) => p.userId === m.user.id);

    expect(await report(m.socket, east(STATION, 600))).toEqual({
      ok: true,
      data: { stored: true },
    });
    await sleep(1100);
    expect(await report(m.socket, east(STATION, 40))).toEqual({ ok: true, data: { stored: true } });
    await expect.poll(() => heard.length).toBe(1);
    expect(heard[0]).toMatchObject({
      event: 'geofence.entered',
      crossing: { geofenceName: 'Gerätehaus', displayName: 'Mia', statusText: 'An der Wache' },
    });
    await expect.poll(presence).toMatchObject([{ statusText: 'An der Wache' }]);

    // Staying inside with a wobble on the border: nothing new.
    await sleep(1100);
    expect(await report(m.socket, east(STATION, 155))).toMatchObject({ ok: true });
    await sleep(1100);
    expect(await report(m.socket, east(STATION, 400))).toMatchObject({ ok: true });
    await expect.poll(() => heard.length).toBe(2);
    expect(heard[1]).toMatchObject({
      event: 'geofence.exited',
      crossing: { statusText: 'An der Wache' },
    });
    await expect.poll(presence).toEqual([]);

    // Back inside, then sharing stops: the status goes with the position, nothing fires.
    await sleep(1100);
    expect(await report(m.socket, east(STATION, 10))).toMatchObject({ ok: true });
    await expect.poll(() => heard.length).toBe(3);
    await expect.poll(presence).toHaveLength(1);
    await m.api('PUT', '/api/me/position-sharing', { on: false });
    await sleep(1100);
    expect(await report(m.socket, east(STATION, 900))).toMatchObject({
      ok: false,
      error: { code: 'POSITION_NOT_SHARED' },
    });
    await sleep(300);
    expect(heard).toHaveLength(3);
    await expect.poll(presence).toEqual([]);
    // The retention job removes presence that has no position any more.
    const rows = () =>
      h.db.database.db
        .select()
        .from(geofencePresence)
        .where(eq(geofencePresence.userId, m.user.id));
    expect(await rows()).toHaveLength(1);
    await applyRetention(h.app, new Date());
    expect(await rows()).toEqual([]);
  });

  it('keeps organisations apart', async () => {
    const other = await createTenant(h.db.database.db);
    const otherDispatcher = await createUser(h.db.database.db, other.id, { role: 'dispatcher' });
    const otherToken = (await createDeviceSession(h.db.database.db, otherDispatcher)).accessToken;
    const otherApi = apiAs(h.app, otherToken);
    const otherHeard: string[] = [];
    const otherSocket = await connectSocket(url, otherToken);
    sockets.push(otherSocket);
    otherSocket.on('geofence.entered', (c: GeofenceCrossing) => otherHeard.push(c.geofenceName));

    const ours = await createFence({
      name: 'Sportplatz',
      kind: 'operation',
      geometry: { kind: 'circle', lat: 51.2, lon: 10.6, radiusM: 300 },
    });
    // The other organisation cannot see, change or delete it.
    expect((await otherApi('GET', '/api/geofences')).json()).toEqual([]);
    expect(
      (await otherApi('PATCH', `/api/geofences/${ours.id}`, { name: 'Mine' })).statusCode,
    ).toBe(404);
    expect((await otherApi('DELETE', `/api/geofences/${ours.id}`)).statusCode).toBe(404);
    // Its member standing in our geofence enters nothing of ours and tells our board nothing.
    const stranger = await createUser(h.db.database.db, other.id, { displayName: 'Stranger' });
    const { engine } = freshEngine();
    heard.length = 0;
    expect(await engine.evaluate(fix(stranger.id, { lat: 51.2, lon: 10.6 }, 5, other.id))).toEqual(
      [],
    );
    // Our member there enters ours, and only our board hears it.
    const m = await member('Ours');
    await m.api('PUT', '/api/me/position-sharing', { on: true });
    expect(await report(m.socket, { lat: 51.2, lon: 10.6 })).toMatchObject({ ok: true });
    await expect.poll(() => heard.map((e) => e.crossing.geofenceName)).toContain('Sportplatz');
    await sleep(300);
    expect(otherHeard).toEqual([]);
    // An alarm of the other organisation cannot target our geofence.
    const alarm = await otherApi('POST', '/api/alarms', {
      keyword: 'X',
      targets: { geofenceIds: [ours.id] },
    });
    expect(alarm.statusCode).toBe(404);
    expect(alarm.json().code).toBe('GEOFENCE_NOT_FOUND');
  });

  it('alerts exactly the members inside a geofence', async () => {
    const square: Array<[number, number]> = [
      [11.0, 51.0],
      [11.02, 51.0],
      [11.02, 51.02],
      [11.0, 51.02],
      [11.0, 51.0],
    ];
    const area = await createFence({
      name: 'Gewerbegebiet',
      kind: 'danger',
      geometry: { kind: 'polygon', ring: square },
    });
    const circle = await createFence({
      name: 'Freibad',
      kind: 'other',
      geometry: { kind: 'circle', lat: 51.05, lon: 11.05, radiusM: 500 },
    });
    const inside = await member('Inside square');
    const inCircle = await member('Inside circle');
    const outside = await member('Just outside');
    const silent = await member('Not sharing');
    void silent;
    for (const [m, at] of [
      [inside, { lat: 51.01, lon: 11.01 }],
      [inCircle, east({ lat: 51.05, lon: 11.05 }, 300)],
      [outside, { lat: 51.01, lon: 11.025 }],
    ] as const) {
      await m.api('PUT', '/api/me/position-sharing', { on: true });
      expect(await report(m.socket, at)).toEqual({ ok: true, data: { stored: true } });
    }
    // No waiting: last positions reach MariaDB in batches (1 s), and the alarm writes the
    // pending batch before it resolves its area, so fixes from a moment ago count.
    const one = await dispatch('POST', '/api/alarms', {
      keyword: 'Gasaustritt',
      targets: { geofenceIds: [area.id] },
    });
    expect(one.statusCode, one.body).toBe(201);
    expect(one.json<AlarmBoard>().recipients.map((r) => r.displayName)).toEqual(['Inside square']);
    expect(one.json<AlarmBoard>().alarm.targets.geofenceIds).toEqual([area.id]);

    const both = await dispatch('POST', '/api/alarms', {
      keyword: 'Unwetter',
      targets: { geofenceIds: [area.id, circle.id] },
    });
    expect(
      both
        .json<AlarmBoard>()
        .recipients.map((r) => r.displayName)
        .sort(),
    ).toEqual(['Inside circle', 'Inside square']);

    const unknown = await dispatch('POST', '/api/alarms', {
      keyword: 'X',
      targets: { geofenceIds: ['00000000-0000-4000-8000-000000000000'] },
    });
    expect(unknown.json().code).toBe('GEOFENCE_NOT_FOUND');
    // A template can name a geofence too.
    const template = await dispatch('POST', '/api/alarm-templates', {
      keyword: 'GAS',
      title: 'Gasaustritt',
      priority: 'high',
      targets: {
        unitIds: [],
        roles: [],
        userIds: [],
        qualificationIds: [],
        geofenceIds: [area.id],
      },
    });
    expect(template.statusCode, template.body).toBe(201);
    const fromTemplate = await dispatch('POST', '/api/alarms', { templateId: template.json().id });
    expect(fromTemplate.json<AlarmBoard>().recipients.map((r) => r.displayName)).toEqual([
      'Inside square',
    ]);
    // Presence of members who still share survives the retention job.
    await expect
      .poll(async () => {
        const rows = await h.db.database.db
          .select({ inside: geofencePresence.inside })
          .from(geofencePresence)
          .where(eq(geofencePresence.userId, inside.user.id));
        return rows;
      })
      .toEqual([{ inside: true }]);
    await applyRetention(h.app, new Date());
    const kept = await h.db.database.db
      .select({ inside: geofencePresence.inside })
      .from(geofencePresence)
      .where(eq(geofencePresence.userId, inside.user.id));
    expect(kept).toEqual([{ inside: true }]);
  });
});
