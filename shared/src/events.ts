/**
 * Socket.io event names (dotted, past tense for server → client notifications) and
 * their payload shapes. Client → server requests are acknowledged with `SocketAck`.
 */
export const SERVER_EVENTS = {
  /** This device was revoked by its user or an admin; `wipe` asks the client to erase local data. */
  deviceRevoked: 'device.revoked',
  /** The access token this socket authenticated with has expired; reconnect with a fresh one. */
  sessionExpired: 'session.expired',
  /** Something a sync source covers changed; the client should sync that source. */
  syncAvailable: 'sync.available',
} as const;

export const CLIENT_EVENTS = {
  /** Pull changes since the client's cursors: `SyncRequest` → `SocketAck<SyncResponse>`. */
  sync: 'sync',
} as const;

export interface DeviceRevokedPayload {
  deviceId: string;
  wipe: boolean;
  reason: 'user' | 'admin' | 'refresh_reuse' | 'deactivated' | 'inactive';
}

export interface SyncAvailablePayload {
  source: string;
}

export interface SyncRequest {
  /** Opaque cursor per source, as returned by the previous sync; omit a source to start from scratch. */
  cursors: Record<string, string | null>;
}

export interface SyncResponse {
  sources: Record<string, { items: unknown[]; cursor: string; hasMore: boolean }>;
}

export type SocketAck<T> =
  | { ok: true; data: T }
  | { ok: false; error: { code: string; message: string; statusCode: number } };
