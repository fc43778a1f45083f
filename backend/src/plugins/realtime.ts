import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { and, eq } from 'drizzle-orm';
import { SERVER_EVENTS, roleHas } from '@trupp/shared';
import { connections, userUnits } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import { authenticateAccessToken } from '../modules/auth/access-token.ts';
import { Realtime, boardRoom, type TruppSocket } from '../realtime/gateway.ts';
import { toErrorBody } from './errors.ts';

declare module 'fastify' {
  interface FastifyInstance {
    io: Server;
    realtime: Realtime;
  }
}

/** Largest socket message accepted; domain payloads are small JSON. */
const MAX_MESSAGE_BYTES = 64 * 1024;

export interface RealtimeOptions {
  /** Redis stream shared by the nodes (tests isolate themselves with their own). */
  streamName?: string;
}

/**
 * socket.io on the app's HTTP server. Sockets authenticate in the handshake with the
 * access token; one that never completes its handshake is dropped after
 * SOCKET_AUTH_TIMEOUT. Each socket joins tenant:, user:, device: and unit: rooms. With
 * Redis the streams adapter carries broadcasts, room changes and disconnects to every
 * node and keeps connection-state recovery across them.
 */
async function realtimePlugin(app: FastifyInstance, opts: RealtimeOptions) {
  const io = new Server(app.server, {
    serveClient: false,
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    connectTimeout: app.config.socketAuthTimeoutSeconds * 1000,
    ...(app.redis
      ? {
          adapter: createAdapter(app.redis, { streamName: opts.streamName ?? 'trupp-socket.io' }),
          connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: false },
        }
      : {}),
  });
  const realtime = new Realtime(io);
  app.decorate('io', io);
  app.decorate('realtime', realtime);

  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const refuse = (error: unknown) => {
      const body = toErrorBody(error);
      const err = new Error(body.message) as Error & { data: unknown };
      err.data = {
        code: body.code,
        ...(body.details && typeof body.details === 'object' ? body.details : {}),
      };
      next(err);
    };
    if (typeof token !== 'string' || token === '') return refuse(new AppError('AUTH_REQUIRED'));
    authenticateAccessToken(app.db, token, socket.handshake.address)
      .then(async (auth) => {
        // Rooms are known before the client hears "connected", so nothing sent to them is missed.
        const unitRooms = await unitRoomsOf(app, auth.tenantId, auth.userId);
        // A device that still has to enrol TOTP may connect (so a remote wipe reaches it),
        // but every event refuses it until it has enrolled (assertAccess).
        (socket as TruppSocket).data = {
          auth,
          connectionId: null,
          rooms: [
            `tenant:${auth.tenantId}`,
            `user:${auth.userId}`,
            `device:${auth.deviceId}`,
            ...unitRooms,
            // Dispatch consoles: live alarm boards and availability of the whole tenant.
            ...(roleHas(auth.role, 'alarms.board') && !auth.mfaEnrolmentPending
              ? [boardRoom(auth.tenantId)]
              : []),
          ],
        };
        next();
      })
      .catch(refuse);
  });

  io.on('connection', (raw) => {
    const socket = raw as TruppSocket;
    const { auth } = socket.data;
    void socket.join(socket.data.rooms);
    const recorded = recordConnection(app, socket).catch((err: unknown) => {
      app.log.error({ err }, 'could not record the connection; dropping the socket');
      socket.disconnect(true);
    });
    realtime.attach(socket, app.log);
    const expiresIn = auth.accessExpiresAt.getTime() - Date.now();
    const expiry = setTimeout(
      () => {
        (socket as unknown as { emit(event: string): void }).emit(SERVER_EVENTS.sessionExpired);
        socket.disconnect(true);
      },
      Math.max(0, Math.min(expiresIn, 2 ** 31 - 1)),
    );
    socket.on('disconnect', (reason) => {
      clearTimeout(expiry);
      const disconnectedAt = new Date();
      // The record may still be on its way to the database when a socket drops at once.
      void recorded
        .then(async () => {
          const id = socket.data.connectionId;
          if (id === null) return;
          await app.db
            .update(connections)
            .set({ disconnectedAt, disconnectReason: reason.slice(0, 64) })
            .where(eq(connections.id, id));
        })
        .catch((err: unknown) => app.log.warn({ err }, 'could not close connection record'));
    });
  });

  const offRevoked = app.bus.on('device.revoked', (event) => {
    const room = `device:${event.deviceId}`;
    io.to(room).emit(SERVER_EVENTS.deviceRevoked, {
      deviceId: event.deviceId,
      wipe: event.wipe,
      reason: event.reason,
    });
    // The notice goes first; disconnecting on the next tick lets it leave the buffers.
    setTimeout(() => io.in(room).disconnectSockets(true), 50);
  });
  const offUser = app.bus.on('user.changed', ({ tenantId, userId }) => {
    void refreshUnitRooms(app, tenantId, userId).catch((err: unknown) =>
      app.log.warn({ err }, 'could not refresh unit rooms'),
    );
  });
  const offDirectory = app.bus.on('directory.changed', ({ tenantId }) => {
    io.to(`tenant:${tenantId}`).emit(SERVER_EVENTS.syncAvailable, { source: 'directory' });
  });

  app.addHook('preClose', async () => {
    offRevoked();
    offUser();
    offDirectory();
    io.disconnectSockets(true);
    await new Promise<void>((resolve) => {
      // io.close() also closes the HTTP server, which Fastify closes itself.
      io.engine.close();
      resolve();
    });
  });
}

async function unitRoomsOf(
  app: FastifyInstance,
  tenantId: string,
  userId: string,
): Promise<string[]> {
  const rows = await app.db
    .select({ unitId: userUnits.unitId })
    .from(userUnits)
    .where(and(eq(userUnits.tenantId, tenantId), eq(userUnits.userId, userId)));
  return rows.map((r) => `unit:${r.unitId}`);
}

/** Connection metadata (DSK): who was connected when, from which device and address. */
async function recordConnection(app: FastifyInstance, socket: TruppSocket): Promise<void> {
  const { auth } = socket.data;
  const [result] = await app.db.insert(connections).values({
    tenantId: auth.tenantId,
    userId: auth.userId,
    deviceId: auth.deviceId,
    ip: socket.handshake.address.slice(0, 64),
    userAgent: String(socket.handshake.headers['user-agent'] ?? '').slice(0, 512),
    connectedAt: new Date(),
  });
  socket.data.connectionId = Number(result.insertId);
}

/** Puts every socket of the user (on any node) into exactly their current unit rooms. */
async function refreshUnitRooms(
  app: FastifyInstance,
  tenantId: string,
  userId: string,
): Promise<void> {
  const wanted = new Set(await unitRoomsOf(app, tenantId, userId));
  const sockets = await app.io.in(`user:${userId}`).fetchSockets();
  for (const socket of sockets) {
    for (const room of socket.rooms) {
      if (room.startsWith('unit:') && !wanted.has(room)) socket.leave(room);
    }
    socket.join([...wanted]);
  }
}

export default fp(realtimePlugin, { name: 'realtime', dependencies: ['db', 'access'] });
