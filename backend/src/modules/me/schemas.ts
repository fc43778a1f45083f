import { Type, type Static } from 'typebox';
import { PERMISSIONS, ROLES } from '@trupp/shared';

const Iso = Type.String({ format: 'date-time' });
const NamedRef = Type.Object({ id: Type.String(), name: Type.String() });

/** The signed-in user's own account, as the webapp needs it right after sign-in. */
export const Me = Type.Object({
  id: Type.String(),
  tenantId: Type.String(),
  tenantName: Type.String(),
  email: Type.String(),
  displayName: Type.String(),
  role: Type.Enum(ROLES),
  isSuperadmin: Type.Boolean(),
  locale: Type.Union([Type.String(), Type.Null()]),
  totpEnabled: Type.Boolean(),
  passkeyCount: Type.Integer(),
  units: Type.Array(NamedRef),
  qualifications: Type.Array(NamedRef),
  permissions: Type.Array(Type.Enum(PERMISSIONS)),
});
export type Me = Static<typeof Me>;

export const MePatchBody = Type.Object(
  {
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 120, pattern: '\\S' })),
    locale: Type.Optional(Type.Union([Type.Enum(['de', 'en']), Type.Null()])),
  },
  { additionalProperties: false },
);

export const PasswordChangeBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 200 }),
    newPassword: Type.String({ minLength: 1, maxLength: 1000 }),
  },
  { additionalProperties: false },
);

/** A TOTP code (6 digits) or, where accepted, a recovery code. */
export const CodeBody = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const TotpEnrolment = Type.Object({
  secret: Type.String(),
  otpauthUrl: Type.String(),
  qrSvg: Type.String(),
});

export const RecoveryCodes = Type.Object({ recoveryCodes: Type.Array(Type.String()) });

export const Passkey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Iso,
  lastUsedAt: Type.Union([Iso, Type.Null()]),
});
export type Passkey = Static<typeof Passkey>;

export const PasskeyIdParams = Type.Object({
  passkeyId: Type.String({ minLength: 1, maxLength: 512 }),
});
