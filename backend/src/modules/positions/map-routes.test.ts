import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { AlarmBoard, SocketAck } from '@trupp/shared';
import { auditLog, positionPoints } from '../../db/schema.ts';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUnit,
  createUser,
  type TestUser,
} from '../../test/factories.ts';
import { connectSocket, listen } from '../../test/realtime.ts';
import { and, eq } from 'drizzle-orm';
import { loadTracks, type MapMember } from './map-repository.ts';

let h: TestApp;
let url: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  h = await createTestApp();
  url = await listen(h.app);
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await h?.close();
});

interface Org {
  tenantId: string;
  dispatch: ReturnType<typeof apiAs>;
  member(
    name: string,
    unitIds?: string[],
  ): Promise<{ user: TestUser; api: ReturnType<typeof apiAs>; socket: Socket }>;
}

async function organisation(): Promise<Org> {
  const db = h.db.database.db;
  const tenantId = (await createTenant(db)).id;
  const dispatcher = await createUser(db, tenantId, { role: 'dispatcher' });
  return {
    tenantId,
    dispatch: apiAs(h.app, (await createDeviceSession(db, dispatcher)).accessToken),
    async member(name, unitIds = []) {
      const user = await createUser(db, tenantId, { displayName: name, unitIds });
      const { accessToken } = await createDeviceSession(db, user);
      const socket = await connectSocket(url, accessToken);
      sockets.push(socket);
      const api = apiAs(h.app, accessToken);
      await api('PUT', '/api/me/position-sharing', { on: true });
      return { user, api, socket };
    },
  };
}

function report(
  socket: Socket,
  at: { lat: number; lon: number },
  extra: { heading?: number; speed?: number } = {},
) {
  return socket.timeout(5000).emitWithAck('position.report', {
    ...at,
    accuracy: 25,
    ...extra,
    recordedAt: new Date().toISOString(),
  }) as Promise<SocketAck<{ stored: boolean }>>;
}

describe('dispatch map reads', () => {
  it('lists members with units, heading, speed, availability and their answer to the open alarm', async () => {
    const org = await organisation();
    const other = await organisation();
    const g1 = await createUnit(h.db.database.db, org.tenantId, { name: 'Gruppe 1' });
    const anna = await org.member('Anna', [g1.id]);
    const ben = await org.member('Ben');
    const stranger = await other.member('Stranger');
    expect(await report(anna.socket, { lat: 51.1, lon: 10.4 }, { heading: 90, speed: 10 })).toEqual(
      { ok: true, data: { stored: true } },
    );
    expect(await report(ben.socket, { lat: 51.2, lon: 10.5 })).toMatchObject({ ok: true });
    expect(await report(stranger.socket, { lat: 51.3, lon: 10.6 })).toMatchObject({ ok: true });
    await ben.api('PUT', '/api/me/availability', { status: 'unavailable' });

    const list = async () =>
      new Map(
        (await org.dispatch('GET', '/api/positions/map'))
          .json<MapMember[]>()
          .map((m) => [m.displayName, m]),
      );
    let members = await list();
    expect([...members.keys()].sort()).toEqual(['Anna', 'Ben']);
    expect(members.get('Anna')).toMatchObject({
      lat: 51.1,
      lon: 10.4,
      accuracyM: 25,
      heading: 90,
      speedKmh: 36,
      units: [{ id: g1.id, name: 'Gruppe 1' }],
      availability: 'available',
      alarm: null,
    });
    expect(members.get('Ben')).toMatchObject({
      heading: null,
      speedKmh: null,
      units: [],
      availability: 'unavailable',
    });

    // Alerted: Anna answers, Ben has not yet; closing the alarm clears both.
    const raised = await org.dispatch('POST', '/api/alarms', {
      keyword: 'B3',
      location: { lat: 51.15, lon: 10.45 },
      targets: { userIds: [anna.user.id, ben.user.id] },
      allHands: true,
    });
    expect(raised.statusCode).toBe(201);
    const alarmId = raised.json<AlarmBoard>().alarm.id;
    await anna.api('POST', `/api/me/alarms/${alarmId}/response`, {
      response: 'coming',
      etaMinutes: 6,
    });
    members = await list();
    expect(members.get('Anna')?.alarm).toEqual({ alarmId, response: 'coming', etaMinutes: 6 });
    expect(members.get('Ben')?.alarm).toEqual({ alarmId, response: null, etaMinutes: null });
    await org.dispatch('POST', `/api/alarms/${alarmId}/close`);
    members = await list();
    expect(members.get('Anna')?.alarm).toBeNull();

    // Members do not see the map list.
    expect((await anna.api('GET', '/api/positions/map')).statusCode).toBe(403);
  });

  it('exports the current positions as GeoJSON of this organisation only, audited', async () => {
    const org = await organisation();
    const other = await organisation();
    const carla = await org.member('Carla');
    const stranger = await other.member('Fremd');
    await report(carla.socket, { lat: 48.1, lon: 11.5 });
    await report(stranger.socket, { lat: 48.2, lon: 11.6 });
    const res = await org.dispatch('GET', '/api/positions.geojson');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/geo+json');
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="trupp-positions-.*\.geojson"$/,
    );
    const geo = JSON.parse(res.body) as {
      type: string;
      features: Array<{
        geometry: { type: string; coordinates: number[] };
        properties: Record<string, unknown>;
      }>;
    };
    expect(geo.type).toBe('FeatureCollection');
    expect(geo.features).toHaveLength(1);
    expect(geo.features[0]!.geometry).toEqual({ type: 'Point', coordinates: [11.5, 48.1] });
    expect(geo.features[0]!.properties).toMatchObject({
      name: 'Carla',
      accuracyM: 25,
      availability: 'available',
      response: null,
    });
    expect(res.body).not.toContain(stranger.user.id);
    const audited = await h.db.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, org.tenantId), eq(auditLog.action, 'positions.exported')));
    expect(audited).toHaveLength(1);
    expect((await carla.api('GET', '/api/positions.geojson')).statusCode).toBe(403);
  });

  it('returns tracks for replay within a window, never another organisation’s', async () => {
    const org = await organisation();
    const other = await organisation();
    const db = h.db.database.db;
    const dora = await createUser(db, org.tenantId, { displayName: 'Dora' });
    const emil = await createUser(db, org.tenantId, { displayName: 'Emil' });
    const stranger = await createUser(db, other.tenantId, { displayName: 'Fremd' });
    const t0 = Date.now() - 30 * 60_000;
    const rows = [dora, emil, stranger].flatMap((u, k) =>
      Array.from({ length: 10 }, (_, i) => ({
        tenantId: u.tenantId,
        userId: u.id,
        lat: 50 + k + i * 0.001,
        lon: 8 + i * 0.001,
        accuracyM: 10,
        recordedAt: new Date(t0 + i * 60_000),
      })),
    );
    await db.insert(positionPoints).values(rows);

    const query = (ids: string[], from: Date, to?: Date) =>
      org.dispatch(
        'GET',
        `/api/positions/tracks?${ids.map((id) => `userIds=${id}`).join('&')}` +
          `&from=${from.toISOString()}${to ? `&to=${to.toISOString()}` : ''}`,
      );
    const res = await query([dora.id, emil.id, stranger.id], new Date(t0 + 2 * 60_000 - 1));
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      thinned: boolean;
      tracks: Array<{ userId: string; displayName: string; points: Array<{ lat: number }> }>;
    }>();
    expect(body.thinned).toBe(false);
    expect(body.tracks.map((t) => t.displayName)).toEqual(['Dora', 'Emil']);
    expect(body.tracks[0]!.points).toHaveLength(8);
    expect(body.tracks[0]!.points[0]!.lat).toBeCloseTo(50.002);
    expect(res.body).not.toContain(stranger.id);

    // One member only, a single id in the query.
    const one = await query([emil.id], new Date(t0), new Date(t0 + 4 * 60_000));
    expect(one.json<{ tracks: Array<{ points: unknown[] }> }>().tracks[0]!.points).toHaveLength(5);

    const backwards = await query([dora.id], new Date(), new Date(t0));
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const none = await org.dispatch(
      'GET',
      `/api/positions/tracks?from=${new Date().toISOString()}`,
    );
    expect(none.statusCode).toBe(400);

    // Too many points for one answer: every n-th is kept and the answer says so.
    const thin = await loadTracks(
      db,
      org.tenantId,
      [dora.id, emil.id],
      new Date(t0),
      new Date(),
      6,
    );
    expect(thin.thinned).toBe(true);
    const total = thin.tracks.reduce((n, t) => n + t.points.length, 0);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(6);
  });
});
