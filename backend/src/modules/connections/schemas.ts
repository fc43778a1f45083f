import { Type, type Static } from 'typebox';
import { PAGE_DEFAULT, PAGE_MAX } from '../audit/schemas.ts';

const Iso = Type.String({ format: 'date-time' });
const NullableString = Type.Union([Type.String(), Type.Null()]);

export const ConnectionRecord = Type.Object({
  id: Type.Integer(),
  userId: Type.String(),
  /** Null when the user no longer exists. */
  userDisplayName: NullableString,
  deviceId: Type.String(),
  deviceName: NullableString,
  ip: Type.String(),
  userAgent: Type.String(),
  connectedAt: Iso,
  /** Null while the connection is open (or the node ended without recording it). */
  disconnectedAt: Type.Union([Iso, Type.Null()]),
  disconnectReason: NullableString,
});
export type ConnectionRecord = Static<typeof ConnectionRecord>;

export const ConnectionQuery = Type.Object({
  /** Connections that were open at some time in [from, to]. */
  from: Type.Optional(Iso),
  to: Type.Optional(Iso),
  userId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  deviceId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_MAX, default: PAGE_DEFAULT })),
  /** Only records with a smaller `id` (the previous page's `nextBefore`). */
  before: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type ConnectionQuery = Static<typeof ConnectionQuery>;

export const ConnectionPage = Type.Object({
  items: Type.Array(ConnectionRecord),
  nextBefore: Type.Union([Type.Integer(), Type.Null()]),
});
export type ConnectionPage = Static<typeof ConnectionPage>;
