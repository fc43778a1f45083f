import { Type, type Static } from 'typebox';

const Iso = Type.String({ format: 'date-time' });
const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableInteger = Type.Union([Type.Integer(), Type.Null()]);

/** Page size bounds for the audit and connection lists. */
export const PAGE_DEFAULT = 50;
export const PAGE_MAX = 500;

export const AuditRecord = Type.Object({
  seq: Type.Integer(),
  at: Iso,
  actorUserId: NullableString,
  actorDeviceId: NullableString,
  actorIp: NullableString,
  action: Type.String(),
  targetType: NullableString,
  targetId: NullableString,
  details: Type.Record(Type.String(), Type.Unknown()),
});
export type AuditRecord = Static<typeof AuditRecord>;

export const AuditQuery = Type.Object({
  from: Type.Optional(Iso),
  to: Type.Optional(Iso),
  /** An exact action (`user.role_changed`) or a family (`user.*`). */
  action: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9_]+(\\.[a-z0-9_]+)*(\\.\\*)?$' }),
  ),
  actorUserId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  targetId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PAGE_MAX, default: PAGE_DEFAULT })),
  /** Only records with a smaller `seq` (the previous page's `nextBefore`). */
  before: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditPage = Type.Object({
  items: Type.Array(AuditRecord),
  nextBefore: NullableInteger,
});
export type AuditPage = Static<typeof AuditPage>;

export const ChainVerificationResult = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  firstBrokenSeq: NullableInteger,
  reason: Type.Union([
    Type.Enum(['hash_mismatch', 'prev_hash_mismatch', 'seq_gap', 'head_mismatch']),
    Type.Null(),
  ]),
});
