import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { AlarmBoard, SocketAck } from '@trupp/shared';
import { createTestApp, type TestApp } from '../../test/helper.ts';
import {
  apiAs,
  createDeviceSession,
  createTenant,
  createUser,
  type TestUser,
} from '../../test/factories.ts';
import { connectSocket, listen } from '../../test/realtime.ts';
import { XMLParser } from 'fast-xml-parser';
import { applyRetention } from '../retention/service.ts';

let h: TestApp;
let url: string;
let tenantId: string;
let dispatch: ReturnType<typeof apiAs>;
const sockets: Socket[] = [];

/** Musterstadt fire station and places around it. */
const STATION = { lat: 51.16, lon: 10.45 };
const NEAR = { lat: 51.17, lon: 10.46 }; // ~1.3 km
const FAR = { lat: 51.4, lon: 10.9 }; // ~40 km

beforeAll(async () => {
  h = await createTestApp();
  url = await listen(h.app);
  const db = h.db.database.db;
  tenantId = (await createTenant(db)).id;
  const dispatcher = await createUser(db, tenantId, { role: 'dispatcher' });
  dispatch = apiAs(h.app, (await createDeviceSession(db, dispatcher)).accessToken);
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await h?.close();
});

async function memberWithSocket(
  name: string,
): Promise<{ user: TestUser; api: ReturnType<typeof apiAs>; socket: Socket }> {
  const user = await createUser(h.db.database.db, tenantId, { displayName: name });
  const { accessToken } = await createDeviceSession(h.db.database.db, user);
  const socket = await connectSocket(url, accessToken);
  sockets.push(socket);
  return { user, api: apiAs(h.app, accessToken), socket };
}

function report(socket: Socket, at: { lat: number; lon: number }, recordedAt = new Date()) {
  return socket.timeout(5000).emitWithAck('position.report', {
    ...at,
    accuracy: 12,
    recordedAt: recordedAt.toISOString(),
  }) as Promise<SocketAck<{ stored: boolean }>>;
}

describe('last known positions and area targets', () => {
  it('stores positions only while the member shares, newest first, and forgets on stop', async () => {
    const { api, socket } = await memberWithSocket('Nora');
    expect(await report(socket, NEAR)).toMatchObject({
      ok: false,
      error: { code: 'POSITION_NOT_SHARED' },
    });
    expect(
      (await api('PUT', '/api/me/position-sharing', { on: true, hours: 2 })).json(),
    ).toMatchObject({ sharing: true });
    expect(await report(socket, NEAR)).toEqual({ ok: true, data: { stored: true } });
    // Faster than once a second: not stored.
    expect(await report(socket, FAR)).toEqual({ ok: true, data: { stored: false } });
    await new Promise((r) => setTimeout(r, 1100));
    // Out of order (measured before the stored one): dropped.
    expect(await report(socket, FAR, new Date(Date.now() - 60_000))).toEqual({
      ok: true,
      data: { stored: false },
    });
    for (const bad of [new Date(Date.now() + 120_000), new Date(Date.now() - 3600_000)]) {
      expect(await report(socket, NEAR, bad)).toMatchObject({
        ok: false,
        error: { code: 'POSITION_INVALID' },
      });
    }
    expect(
      await socket.timeout(5000).emitWithAck('position.report', { lat: 91, lon: 0, accuracy: 5 }),
    ).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(
      await socket.timeout(5000).emitWithAck('position.report', {
        ...NEAR,
        accuracy: 5,
        recordedAt: 'yesterday',
      }),
    ).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });

    // Stopping ends reporting and deletes the last position.
    await api('PUT', '/api/me/position-sharing', { on: false });
    const area = await dispatch('POST', '/api/alarms', {
      keyword: 'X',
      targets: { area: { kind: 'circle', ...NEAR, radiusKm: 1 } },
    });
    expect(area.json()).toMatchObject({ code: 'ALARM_NO_RECIPIENTS' });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await report(socket, NEAR)).toMatchObject({
      ok: false,
      error: { code: 'POSITION_NOT_SHARED' },
    });
  });

  it('alerts members inside a circle or polygon around the incident, not those outside', async () => {
    const near = await memberWithSocket('Near');
    const far = await memberWithSocket('Far');
    const quiet = await memberWithSocket('Not sharing');
    for (const [m, at] of [
      [near, NEAR],
      [far, FAR],
    ] as const) {
      await m.api('PUT', '/api/me/position-sharing', { on: true });
      expect(await report(m.socket, at)).toEqual({ ok: true, data: { stored: true } });
    }
    void quiet;
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

  it('accepts positions from a member coming to an open alarm, without sharing switched on', async () => {
    const m = await memberWithSocket('Coming');
    const raised = await dispatch('POST', '/api/alarms', {
      keyword: 'B2',
      targets: { userIds: [m.user.id] },
    });
    const alarmId = raised.json<AlarmBoard>().alarm.id;
    expect(await report(m.socket, NEAR)).toMatchObject({ ok: false });
    await m.api('POST', `/api/me/alarms/${alarmId}/response`, {
      response: 'coming',
      etaMinutes: 4,
    });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await report(m.socket, NEAR)).toEqual({ ok: true, data: { stored: true } });
    await dispatch('POST', `/api/alarms/${alarmId}/close`);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await report(m.socket, NEAR)).toMatchObject({
      ok: false,
      error: { code: 'POSITION_NOT_SHARED' },
    });
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
      if (i > 0) await new Promise((r) => setTimeout(r, 1050));
      expect(await report(m.socket, at)).toEqual({ ok: true, data: { stored: true } });
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
    expect(
      (await dispatch('GET', '/api/positions'))
        .json<Array<{ userId: string }>>()
        .map((p) => p.userId),
    ).not.toContain(m.user.id);
  });
});
