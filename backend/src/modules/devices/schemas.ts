import { Type, type Static } from 'typebox';

const Iso = Type.String({ format: 'date-time' });
/** Device ids are UUIDs; the length bound keeps oversized path values out of queries. */
export const DeviceIdParams = Type.Object({
  deviceId: Type.String({ minLength: 1, maxLength: 64 }),
});

/** A signed-in device as its owner sees it (own device list, device-limit answer). */
export const DeviceInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  userAgent: Type.String(),
  createdAt: Iso,
  lastSeenAt: Iso,
  lastIp: Type.String(),
  current: Type.Boolean(),
});
export type DeviceInfo = Static<typeof DeviceInfo>;

/** What an admin sees of any device of the tenant, revoked ones included. */
export const AdminDeviceInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  userAgent: Type.String(),
  createdAt: Iso,
  lastSeenAt: Iso,
  lastIp: Type.String(),
  current: Type.Boolean(),
  userId: Type.String(),
  userDisplayName: Type.String(),
  revokedAt: Type.Union([Iso, Type.Null()]),
  revokeReason: Type.Union([Type.String(), Type.Null()]),
  wipeRequested: Type.Boolean(),
  wipeConfirmedAt: Type.Union([Iso, Type.Null()]),
});
export type AdminDeviceInfo = Static<typeof AdminDeviceInfo>;

export const AdminDeviceQuery = Type.Object({
  userId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
});
