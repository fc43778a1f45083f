import { Type, type Static } from 'typebox';
import { ROLES } from '@trupp/shared';

const Iso = Type.String({ format: 'date-time' });
const Id = Type.String({ minLength: 1, maxLength: 64 });
const DisplayName = Type.String({ minLength: 1, maxLength: 120, pattern: '\\S' });
/** At most this many units or qualifications can be given at once. */
const MAX_REFS = 200;
const IdList = Type.Array(Id, { maxItems: MAX_REFS });
export const Role = Type.Enum(ROLES);

/** What every directory reader sees of a member. */
export const UserSummary = Type.Object({
  id: Type.String(),
  displayName: Type.String(),
  role: Role,
  active: Type.Boolean(),
  unitIds: Type.Array(Type.String()),
  qualificationIds: Type.Array(Type.String()),
});
export type UserSummary = Static<typeof UserSummary>;

/** What an admin sees of an account (reading it is audited). */
export const UserDetail = Type.Object({
  id: Type.String(),
  displayName: Type.String(),
  role: Role,
  active: Type.Boolean(),
  unitIds: Type.Array(Type.String()),
  qualificationIds: Type.Array(Type.String()),
  email: Type.String(),
  totpEnabled: Type.Boolean(),
  passkeyCount: Type.Integer(),
  lastLoginAt: Type.Union([Iso, Type.Null()]),
  createdAt: Iso,
  activeDeviceCount: Type.Integer(),
  /** The user has not accepted their invitation yet (no password set, no passkey). */
  invitePending: Type.Boolean(),
});
export type UserDetail = Static<typeof UserDetail>;

export const UserIdParams = Type.Object({ userId: Id });

export const UserListQuery = Type.Object({
  unitId: Type.Optional(Id),
  role: Type.Optional(Role),
  /** Part of the display name (admins: or of the email address). */
  q: Type.Optional(Type.String({ maxLength: 100 })),
  includeInactive: Type.Optional(Type.Boolean()),
});
export type UserListQuery = Static<typeof UserListQuery>;

export const UserCreateBody = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254 }),
    displayName: DisplayName,
    role: Role,
    unitIds: Type.Optional(IdList),
    qualificationIds: Type.Optional(IdList),
  },
  { additionalProperties: false },
);
export type UserCreateBody = Static<typeof UserCreateBody>;

export const UserPatchBody = Type.Object(
  {
    displayName: Type.Optional(DisplayName),
    role: Type.Optional(Role),
    unitIds: Type.Optional(IdList),
    qualificationIds: Type.Optional(IdList),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type UserPatchBody = Static<typeof UserPatchBody>;

export const UserCreated = Type.Object({ user: UserDetail, inviteUrl: Type.String() });
export const InviteResult = Type.Object({ inviteUrl: Type.String() });
