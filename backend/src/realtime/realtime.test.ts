import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Socket } from 'socket.io-client';
import { Type } from 'typebox';
import { buildApp } from '../app.ts';
import { connections, devices } from '../db/schema.ts';
import { revokeDevice } from '../modules/devices/service.ts';
import { bumpDirectoryVersion } from '../modules/directory/version.ts';
import { createDeviceSession, createTenant, createUnit, createUser } from '../test/factories.ts';
import { createTestApp, type TestApp } from '../test/helper.ts';
import { connectSocket, listen, nextEvent } from '../test/realtime.ts';

let h: TestApp;
let url: string;
let tenantId: string;
let member: { id: string; tenantId: string };
let unitId: string;
const open: Socket[] = [];

async function memberSocket(): Promise<{ socket: Socket; deviceId: string; token: string }> {
  const { accessToken, deviceId } = await createDeviceSession(h.db.database.db, member);
  const socket = await connectSocket(url, accessToken);
  open.push(socket);
  return { socket, deviceId, token: accessToken };
}

function emitAck<T>(socket: Socket, event: string, payload?: unknown): Promise<T> {
  return socket.timeout(5000).emitWithAck(event, payload) as Promise<T>;
}

beforeAll(async () => {
  h = await createTestApp({ SOCKET_AUTH_TIMEOUT: '1' });
  h.app.realtime.on(
    'test.echo',
    { schema: Type.Object({ text: Type.String({ maxLength: 10 }) }), access: 'directory.read' },
    async (_ctx, payload) => ({ echoed: payload.text }),
  );
  url = await listen(h.app);
  const tenant = await createTenant(h.db.database.db);
  tenantId = tenant.id;
  unitId = (await createUnit(h.db.database.db, tenantId)).id;
  member = await createUser(h.db.database.db, tenantId, { role: 'member', unitIds: [unitId] });
});
afterAll(async () => {
  for (const socket of open) socket.close();
  await h?.close();
});

describe('socket handshake', () => {
  it('refuses a socket without a token, with a bad token, and with a revoked device', async () => {
    await expect(connectSocket(url, null)).rejects.toMatchObject({
      data: { code: 'AUTH_REQUIRED' },
    });
    await expect(connectSocket(url, 'x'.repeat(43))).rejects.toMatchObject({
      data: { code: 'AUTH_TOKEN_INVALID' },
    });
    const { accessToken, deviceId } = await createDeviceSession(h.db.database.db, member);
    await revokeDevice(h.app, tenantId, deviceId, { reason: 'admin', wipe: true, actor: {} });
    await expect(connectSocket(url, accessToken)).rejects.toMatchObject({
      data: { code: 'DEVICE_REVOKED', wipe: true },
    });
  });

  it('drops a transport that never authenticates within the timeout', async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const closed = new Promise<number>((resolve) => ws.on('close', () => resolve(Date.now())));
    const opened = await new Promise<number>((resolve) => ws.on('open', () => resolve(Date.now())));
    const closedAt = await closed;
    expect(closedAt - opened).toBeGreaterThanOrEqual(900);
    expect(closedAt - opened).toBeLessThan(4000);
  });
});

describe('session lifetime', () => {
  it('tells a socket its token expired and disconnects it', async () => {
    const { accessToken, deviceId } = await createDeviceSession(h.db.database.db, member);
    await h.db.database.db
      .update(devices)
      .set({ accessExpiresAt: new Date(Date.now() + 1500) })
      .where(eq(devices.id, deviceId));
    const socket = await connectSocket(url, accessToken);
    open.push(socket);
    const expired = nextEvent(socket, 'session.expired', 5000);
    const disconnected = nextEvent<string>(socket, 'disconnect', 5000);
    await expired;
    expect(await disconnected).toBe('io server disconnect');
  });

  it('lets a device that must still enrol TOTP connect, but refuses its events', async () => {
    const dispatcher = await createUser(h.db.database.db, tenantId, {
      role: 'dispatcher',
      totp: false,
    });
    const { accessToken, deviceId } = await createDeviceSession(h.db.database.db, dispatcher);
    await h.db.database.db
      .update(devices)
      .set({ mfaEnrolmentPending: true })
      .where(eq(devices.id, deviceId));
    const socket = await connectSocket(url, accessToken);
    open.push(socket);
    const answer = await emitAck<{ ok: boolean; error: { code: string } }>(socket, 'sync', {
      cursors: { directory: null },
    });
    expect(answer).toMatchObject({ ok: false, error: { code: 'AUTH_MFA_ENROLMENT_REQUIRED' } });
  });
});

describe('rooms, events and sync', () => {
  it('joins the unit room of the member', async () => {
    const { socket } = await memberSocket();
    const received = nextEvent<{ hello: string }>(socket, 'unit.test');
    h.app.io.to(`unit:${unitId}`).emit('unit.test', { hello: 'squad' });
    expect(await received).toEqual({ hello: 'squad' });
  });

  it('validates event payloads and keeps serving after bad ones', async () => {
    const { socket } = await memberSocket();
    expect(await emitAck(socket, 'test.echo', { text: 'hi' })).toEqual({
      ok: true,
      data: { echoed: 'hi' },
    });
    const bad = await emitAck<{ ok: boolean; error: { code: string } }>(socket, 'test.echo', {
      text: 42,
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    const long = await emitAck<{ ok: boolean; error: { code: string } }>(socket, 'test.echo', {
      text: 'x'.repeat(11),
    });
    expect(long.ok).toBe(false);
    const unknown = await emitAck<{ ok: boolean; error: { code: string } }>(
      socket,
      'no.such.event',
      {},
    );
    expect(unknown).toMatchObject({ ok: false, error: { code: 'ROUTE_NOT_FOUND' } });
    socket.emit('test.echo', { text: 'no ack' });
    socket.emit('test.echo', 'not an object');
    expect(await emitAck(socket, 'test.echo', { text: 'still' })).toEqual({
      ok: true,
      data: { echoed: 'still' },
    });
  });

  it('refuses events the role may not use', async () => {
    const auditor = await createUser(h.db.database.db, tenantId, { role: 'auditor' });
    const { accessToken } = await createDeviceSession(h.db.database.db, auditor);
    const socket = await connectSocket(url, accessToken);
    open.push(socket);
    const answer = await emitAck<{ ok: boolean; error: { code: string } }>(socket, 'test.echo', {
      text: 'a',
    });
    expect(answer).toMatchObject({ ok: false, error: { code: 'AUTH_FORBIDDEN' } });
  });

  it('syncs the directory by version and announces changes', async () => {
    const { socket } = await memberSocket();
    type Ack = {
      ok: true;
      data: {
        sources: Record<string, { items: Array<{ users: Array<{ id: string }> }>; cursor: string }>;
      };
    };
    const first = await emitAck<Ack>(socket, 'sync', { cursors: { directory: null } });
    const page = first.data.sources.directory!;
    expect(page.items).toHaveLength(1);
    expect(page.items[0]!.users.map((u) => u.id)).toContain(member.id);
    const again = await emitAck<Ack>(socket, 'sync', { cursors: { directory: page.cursor } });
    expect(again.data.sources.directory!.items).toHaveLength(0);

    const announced = nextEvent<{ source: string }>(socket, 'sync.available');
    await bumpDirectoryVersion(h.db.database.db, tenantId);
    h.app.bus.emit('directory.changed', { tenantId });
    expect(await announced).toEqual({ source: 'directory' });
    const after = await emitAck<Ack>(socket, 'sync', { cursors: { directory: page.cursor } });
    expect(after.data.sources.directory!.items).toHaveLength(1);

    const unknown = await emitAck<{ ok: boolean; error: { code: string } }>(socket, 'sync', {
      cursors: { nope: null },
    });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'SYNC_SOURCE_UNKNOWN' } });
    const badCursor = await emitAck<{ ok: boolean; error: { code: string } }>(socket, 'sync', {
      cursors: { directory: 'garbage' },
    });
    expect(badCursor).toMatchObject({ ok: false, error: { code: 'SYNC_CURSOR_INVALID' } });
  });

  it('records connection metadata and closes it on disconnect', async () => {
    const { socket, deviceId } = await memberSocket();
    await expect
      .poll(async () => {
        const [row] = await h.db.database.db
          .select()
          .from(connections)
          .where(eq(connections.deviceId, deviceId));
        return row;
      })
      .toMatchObject({ tenantId, userId: member.id, disconnectedAt: null });
    socket.close();
    await expect
      .poll(async () => {
        const [closed] = await h.db.database.db
          .select()
          .from(connections)
          .where(eq(connections.deviceId, deviceId));
        return closed?.disconnectedAt instanceof Date;
      })
      .toBe(true);
  });
});

describe('two nodes with Redis', () => {
  let nodeB: FastifyInstance;
  let redisA: Redis;
  let redisB: Redis;
  let nodeA: FastifyInstance;

  afterAll(async () => {
    await nodeA?.close();
    await nodeB?.close();
    redisA?.disconnect();
    redisB?.disconnect();
  });

  it('a device revoked on node A is told to wipe and disconnected on node B', async () => {
    const streamName = `trupp-test-${randomBytes(4).toString('hex')}`;
    redisA = new Redis('redis://127.0.0.1:6379');
    redisB = new Redis('redis://127.0.0.1:6379');
    nodeA = await buildApp({
      config: h.config,
      database: h.db.database,
      redis: redisA,
      socketStreamName: streamName,
    });
    nodeB = await buildApp({
      config: h.config,
      database: h.db.database,
      redis: redisB,
      socketStreamName: streamName,
    });
    await listen(nodeA);
    const urlB = await listen(nodeB);
    const { accessToken, deviceId } = await createDeviceSession(h.db.database.db, member);
    const socket = await connectSocket(urlB, accessToken);
    open.push(socket);
    await sleep(200);

    const notice = nextEvent<{ deviceId: string; wipe: boolean }>(socket, 'device.revoked');
    const disconnected = nextEvent<string>(socket, 'disconnect');
    expect(
      await revokeDevice(nodeA, tenantId, deviceId, { reason: 'admin', wipe: true, actor: {} }),
    ).toBe(true);
    expect(await notice).toMatchObject({ deviceId, wipe: true });
    expect(await disconnected).toBe('io server disconnect');
    await expect(connectSocket(urlB, accessToken)).rejects.toMatchObject({
      data: { code: 'DEVICE_REVOKED', wipe: true },
    });
  });
});
