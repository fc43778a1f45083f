/**
 * The realtime connection: socket.io with the current access token, refreshed and
 * reconnected when the server says it expired. Revocation arrives either as the
 * `device.revoked` event or as a refused connection; both end up in `onRevoked`.
 */
import { io, type Socket } from 'socket.io-client';
import { ApiError } from '../api/http.ts';
import {
  SERVER_EVENTS,
  type ErrorCode,
  type DeviceRevokedPayload,
  type SocketAck,
  type SyncAvailablePayload,
} from '@trupp/shared';

export interface RealtimeHandlers {
  /** The access token to connect with (read at every (re)connection). */
  getToken(): string | null;
  /** Refreshes the session after `usedToken` was refused for expiry; resolves to the new token. */
  refresh(usedToken: string | null): Promise<string>;
  onRevoked(wipe: boolean): void;
  /** The token is not valid at all (not merely expired): the session is gone. */
  onAuthLost(code: string): void;
  onSyncAvailable?(source: string): void;
  /** The socket came up or went down (the session store checks over HTTP while it is down). */
  onConnectionChange?(connected: boolean): void;
}

export interface RealtimeConnection {
  close(): void;
}

type Listener = (payload: unknown) => void;
const listeners = new Map<string, Set<Listener>>();
const connectListeners = new Set<() => void>();
const disconnectListeners = new Set<() => void>();
let current: Socket | null = null;

/**
 * Domain stores subscribe to server events here, independent of when the socket is
 * (re)created; the returned function unsubscribes.
 */
export function onServerEvent<T>(event: string, listener: (payload: T) => void): () => void {
  let set = listeners.get(event);
  if (!set) {
    set = new Set();
    listeners.set(event, set);
    current?.on(event, (payload: unknown) => set!.forEach((l) => l(payload)));
  }
  set.add(listener as Listener);
  return () => set.delete(listener as Listener);
}

/** Runs `listener` at every (re)connection, e.g. to sync what was missed. */
export function onConnected(listener: () => void): () => void {
  connectListeners.add(listener);
  if (current?.connected) listener();
  return () => connectListeners.delete(listener);
}

/** Runs `listener` whenever the socket goes down (the server forgets per-socket state). */
export function onDisconnected(listener: () => void): () => void {
  disconnectListeners.add(listener);
  return () => disconnectListeners.delete(listener);
}

export function isConnected(): boolean {
  return current?.connected ?? false;
}

/**
 * Sends a client event and waits for the server's acknowledgement.
 * @throws ApiError with the server's code, or NETWORK_ERROR when not connected or no answer.
 */
export async function emitWithAck<T>(
  event: string,
  payload: unknown,
  timeoutMs = 5000,
): Promise<T> {
  if (!current?.connected) throw new ApiError('NETWORK_ERROR', 'not connected', 0);
  let ack: SocketAck<T>;
  try {
    ack = (await current.timeout(timeoutMs).emitWithAck(event, payload)) as SocketAck<T>;
  } catch {
    throw new ApiError('NETWORK_ERROR', 'no answer from the server', 0);
  }
  if (!ack.ok) {
    throw new ApiError(ack.error.code as ErrorCode, ack.error.message, ack.error.statusCode);
  }
  return ack.data;
}

function wireDomainListeners(socket: Socket): void {
  for (const [event, set] of listeners) {
    socket.on(event, (payload: unknown) => set.forEach((l) => l(payload)));
  }
  socket.on('connect', () => connectListeners.forEach((l) => l()));
  socket.on('disconnect', () => disconnectListeners.forEach((l) => l()));
}

interface ConnectErrorData {
  code?: string;
  wipe?: boolean;
  details?: { wipe?: boolean };
}

/** Opens the socket; call `close()` on sign-out or wipe. */
export function connectRealtime(handlers: RealtimeHandlers): RealtimeConnection {
  let closed = false;
  let lastToken: string | null = null;

  const socket: Socket = io({
    path: '/socket.io',
    auth: (cb) => {
      lastToken = handlers.getToken();
      cb({ token: lastToken });
    },
  });

  current = socket;
  wireDomainListeners(socket);
  let reconnecting: Promise<void> | null = null;

  /** session.expired is followed by a disconnect; both lead here, the second joins the first. */
  function reconnectWithFreshToken(): Promise<void> {
    reconnecting ??= (async () => {
      try {
        await handlers.refresh(lastToken);
      } catch {
        // The HTTP layer has already reported a lost session; nothing to reconnect.
        return;
      }
      if (!closed && !socket.connected) socket.connect();
    })().finally(() => {
      reconnecting = null;
    });
    return reconnecting;
  }

  socket.on('connect', () => handlers.onConnectionChange?.(true));

  socket.on('connect_error', (error: Error & { data?: ConnectErrorData }) => {
    const data = error.data;
    // No code: a network problem; socket.io keeps retrying on its own.
    if (closed || !data?.code) return;
    if (data.code === 'AUTH_TOKEN_EXPIRED') void reconnectWithFreshToken();
    else if (data.code === 'DEVICE_REVOKED')
      handlers.onRevoked(Boolean(data.wipe ?? data.details?.wipe));
    else handlers.onAuthLost(data.code);
  });

  socket.on(SERVER_EVENTS.deviceRevoked, (payload: DeviceRevokedPayload) => {
    if (!closed) handlers.onRevoked(Boolean(payload?.wipe));
  });

  socket.on(SERVER_EVENTS.sessionExpired, () => {
    if (!closed) void reconnectWithFreshToken();
  });

  socket.on('disconnect', (reason) => {
    handlers.onConnectionChange?.(false);
    // A server-side disconnect is not retried by socket.io; after session.expired the
    // refresh above reconnects, anything else gets one fresh-token attempt here.
    if (!closed && reason === 'io server disconnect') void reconnectWithFreshToken();
  });

  socket.on(SERVER_EVENTS.syncAvailable, (payload: SyncAvailablePayload) => {
    if (!closed && payload?.source) handlers.onSyncAvailable?.(payload.source);
  });

  return {
    close() {
      closed = true;
      if (current === socket) current = null;
      socket.removeAllListeners();
      socket.disconnect();
    },
  };
}
