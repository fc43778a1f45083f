import { Type, type Static } from 'typebox';
import type { ApiErrorBody } from '@trupp/shared';
import { ErrorResponseSchema } from '../../errors.ts';
import { Me } from '../me/schemas.ts';

const Iso = Type.String({ format: 'date-time' });
const Token = Type.String({ minLength: 1, maxLength: 2048 });
const DeviceName = Type.String({ minLength: 1, maxLength: 120 });
/** base64url blobs from an authenticator; generous but bounded. */
const Blob = Type.String({ maxLength: 16_384 });
const Extensions = Type.Object({}, { additionalProperties: true });

/** A signed-in device's credentials plus the account, as returned by every sign-in step. */
export const Session = Type.Object({
  accessToken: Type.String(),
  accessExpiresAt: Iso,
  refreshToken: Type.String(),
  refreshExpiresAt: Iso,
  deviceId: Type.String(),
  mfaEnrolmentRequired: Type.Boolean(),
  user: Me,
});
export type Session = Static<typeof Session>;

export const MfaMethod = Type.Enum(['totp', 'recovery', 'passkey']);
export type MfaMethod = Static<typeof MfaMethod>;

export const SessionResult = Type.Object({ status: Type.Literal('ok'), session: Session });

export const LoginResult = Type.Union([
  SessionResult,
  Type.Object({
    status: Type.Literal('mfa_required'),
    mfaToken: Type.String(),
    methods: Type.Array(MfaMethod),
  }),
]);
export type LoginResult = Static<typeof LoginResult>;

export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1000 }),
    deviceName: Type.Optional(DeviceName),
  },
  { additionalProperties: false },
);

export const MfaBody = Type.Object(
  {
    mfaToken: Token,
    method: Type.Enum(['totp', 'recovery']),
    code: Type.String({ minLength: 1, maxLength: 64 }),
    deviceName: Type.Optional(DeviceName),
  },
  { additionalProperties: false },
);

export const PasskeyOptionsBody = Type.Object(
  { mfaToken: Type.Optional(Token) },
  { additionalProperties: false },
);

/** WebAuthn options JSON for navigator.credentials.get/create, passed through untouched. */
export const PasskeyOptionsResult = Type.Object({
  challengeId: Type.String(),
  options: Type.Unknown(),
});

/** AuthenticationResponseJSON (WebAuthn Level 3). */
export const AuthenticationResponse = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 1024 }),
  rawId: Type.String({ minLength: 1, maxLength: 1024 }),
  type: Type.Literal('public-key'),
  response: Type.Object({
    clientDataJSON: Blob,
    authenticatorData: Blob,
    signature: Blob,
    userHandle: Type.Optional(Blob),
  }),
  authenticatorAttachment: Type.Optional(Type.Enum(['platform', 'cross-platform'])),
  clientExtensionResults: Extensions,
});

/** RegistrationResponseJSON (WebAuthn Level 3). */
export const RegistrationResponse = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 1024 }),
  rawId: Type.String({ minLength: 1, maxLength: 1024 }),
  type: Type.Literal('public-key'),
  response: Type.Object({
    clientDataJSON: Blob,
    attestationObject: Blob,
    authenticatorData: Type.Optional(Blob),
    transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 })),
    publicKeyAlgorithm: Type.Optional(Type.Integer()),
    publicKey: Type.Optional(Blob),
  }),
  authenticatorAttachment: Type.Optional(Type.Enum(['platform', 'cross-platform'])),
  clientExtensionResults: Extensions,
});

export const PasskeyVerifyBody = Type.Object(
  {
    challengeId: Type.String({ minLength: 1, maxLength: 64 }),
    response: AuthenticationResponse,
    mfaToken: Type.Optional(Token),
    deviceName: Type.Optional(DeviceName),
  },
  { additionalProperties: false },
);

export const PasskeyRegisterBody = Type.Object(
  {
    challengeId: Type.String({ minLength: 1, maxLength: 64 }),
    response: RegistrationResponse,
    name: Type.String({ minLength: 1, maxLength: 120 }),
  },
  { additionalProperties: false },
);

export const DeviceLimitRevokeBody = Type.Object(
  { limitToken: Token, deviceId: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

/** Every error answer (`{ code, message, statusCode, details? }`), for the OpenAPI document. */
export const ApiError = Type.Unsafe<ApiErrorBody>(ErrorResponseSchema);

/** Response schemas for the error statuses a route can answer with. */
export function errorResponses<S extends number>(...statuses: S[]): Record<S, typeof ApiError> {
  return Object.fromEntries(statuses.map((status) => [status, ApiError])) as Record<
    S,
    typeof ApiError
  >;
}

/** 204 No Content. */
export const NoContent = Type.Null({ description: 'No content' });
