/**
 * The catalogue of every error code Trupp answers with. Stable SCREAMING_SNAKE codes with
 * an area prefix; the HTTP status; an English default message. The webapp translates
 * codes (de, en); `docs/ERRORS.md` documents each one — a test keeps all three in step.
 */
export const ERROR_CATALOGUE = {
  // Generic edge errors
  VALIDATION_FAILED: { status: 400, message: 'The request is invalid.' },
  ROUTE_NOT_FOUND: { status: 404, message: 'There is no such endpoint.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'This content type is not accepted here.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests. Wait a moment and try again.' },
  INTERNAL_ERROR: { status: 500, message: 'Something went wrong on the server.' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'The service is not ready.' },

  // Authentication and sessions
  AUTH_REQUIRED: { status: 401, message: 'Sign in to continue.' },
  AUTH_TOKEN_INVALID: { status: 401, message: 'Your session is not valid. Sign in again.' },
  AUTH_TOKEN_EXPIRED: { status: 401, message: 'Your session has expired.' },
  AUTH_INVALID_CREDENTIALS: { status: 401, message: 'Email or password is wrong.' },
  AUTH_LOCKED: {
    status: 429,
    message: 'Too many failed attempts. Sign-in is paused for a while; try again later.',
  },
  AUTH_MFA_INVALID: { status: 401, message: 'The code is wrong or has expired.' },
  AUTH_MFA_TOKEN_INVALID: { status: 401, message: 'The sign-in step has expired. Start again.' },
  AUTH_MFA_ENROLMENT_REQUIRED: {
    status: 403,
    message: 'Your role requires two-factor authentication. Set it up first.',
  },
  AUTH_MFA_ALREADY_ENROLLED: { status: 409, message: 'Two-factor authentication is already on.' },
  AUTH_MFA_NOT_ENROLLED: { status: 409, message: 'Two-factor authentication is not set up.' },
  AUTH_MFA_ROLE_REQUIRES: {
    status: 409,
    message: 'Your role requires two-factor authentication; it cannot be switched off.',
  },
  AUTH_PASSKEY_INVALID: { status: 401, message: 'The passkey could not be verified.' },
  AUTH_PASSKEY_NOT_FOUND: { status: 404, message: 'There is no such passkey.' },
  AUTH_REFRESH_INVALID: { status: 401, message: 'Your session has ended. Sign in again.' },
  AUTH_WEAK_PASSWORD: {
    status: 400,
    message: 'Choose a longer password (at least 10 characters).',
  },
  AUTH_FORBIDDEN: { status: 403, message: 'You are not allowed to do this.' },
  AUTH_SUPERADMIN_REQUIRED: { status: 403, message: 'Only a platform administrator can do this.' },

  // Devices
  DEVICE_LIMIT_REACHED: {
    status: 409,
    message: 'You are signed in on 3 devices already. Sign out one of them to continue.',
  },
  DEVICE_REVOKED: { status: 401, message: 'This device has been signed out.' },
  DEVICE_NOT_FOUND: { status: 404, message: 'There is no such device.' },

  // Tenants, units, users, qualifications
  TENANT_NOT_FOUND: { status: 404, message: 'There is no such organisation.' },
  TENANT_SLUG_TAKEN: { status: 409, message: 'This short name is already in use.' },
  TENANT_TIMEZONE_INVALID: {
    status: 400,
    message: 'This time zone is unknown. Use a name such as Europe/Berlin.',
  },
  UNIT_NOT_FOUND: { status: 404, message: 'There is no such unit.' },
  UNIT_PARENT_INVALID: {
    status: 409,
    message: 'A unit cannot be moved below itself or one of its sub-units.',
  },
  UNIT_NOT_EMPTY: {
    status: 409,
    message: 'The unit still has sub-units or members. Move them first.',
  },
  USER_NOT_FOUND: { status: 404, message: 'There is no such user.' },
  USER_EMAIL_TAKEN: { status: 409, message: 'A user with this email address exists already.' },
  USER_SELF_CHANGE_FORBIDDEN: {
    status: 409,
    message: 'You cannot change your own role or deactivate yourself.',
  },
  USER_LAST_ADMIN: { status: 409, message: 'The organisation must keep at least one admin.' },
  USER_INACTIVE: {
    status: 409,
    message: 'This user is deactivated. Reactivate them first.',
  },
  QUALIFICATION_NOT_FOUND: { status: 404, message: 'There is no such qualification.' },
  QUALIFICATION_NAME_TAKEN: { status: 409, message: 'A qualification with this name exists.' },
  INVITE_INVALID: {
    status: 410,
    message: 'This link is invalid, has been used, or has expired. Ask your admin for a new one.',
  },
  SETUP_ALREADY_DONE: { status: 409, message: 'Trupp has been set up already.' },

  // Sync and realtime
  SYNC_CURSOR_INVALID: { status: 400, message: 'The sync cursor is not valid. Sync from scratch.' },
  SYNC_SOURCE_UNKNOWN: { status: 400, message: 'There is no such sync source.' },

  // Audit
  AUDIT_RANGE_INVALID: { status: 400, message: 'The date range is invalid.' },

  // Alarms and integrations
  ALARM_NOT_FOUND: { status: 404, message: 'There is no such alarm.' },
  ALARM_CLOSED: { status: 409, message: 'This alarm has been closed.' },
  ALARM_NO_RECIPIENTS: { status: 400, message: 'Nobody matches the chosen targets.' },
  ALARM_SCHEDULE_NOT_FOUND: { status: 404, message: 'There is no such alarm schedule.' },
  ALARM_TEMPLATE_NOT_FOUND: { status: 404, message: 'There is no such alarm template.' },
  ALARM_TEMPLATE_KEYWORD_TAKEN: {
    status: 409,
    message: 'A template with this keyword exists already.',
  },
  ALARM_RESPONSE_INVALID: { status: 400, message: 'This answer is not possible.' },
  API_KEY_INVALID: { status: 401, message: 'The API key is not valid.' },
  API_KEY_NOT_FOUND: { status: 404, message: 'There is no such API key.' },
  POSITION_NOT_SHARED: { status: 409, message: 'Position sharing is off.' },
  POSITION_INVALID: { status: 400, message: 'The position is invalid.' },
  CAP_INVALID: { status: 400, message: 'The CAP document is invalid.' },
  CAP_TOO_LARGE: { status: 413, message: 'The CAP document is too large.' },
  WEBHOOK_NOT_FOUND: { status: 404, message: 'There is no such webhook.' },
  MAP_RANGE_NOT_SATISFIABLE: {
    status: 416,
    message: 'The requested byte range is not in the map file.',
  },
  PTT_CHANNEL_NOT_FOUND: { status: 404, message: 'There is no such push-to-talk channel.' },
  PTT_CHANNEL_ARCHIVED: { status: 409, message: 'This channel has been archived.' },
  PTT_ALARM_CHANNEL: { status: 409, message: 'The members of an alarm channel follow the alarm.' },
  PTT_NOT_JOINED: { status: 409, message: 'Join the channel first.' },
  PTT_NOT_PRODUCING: { status: 409, message: 'Send audio to the channel before asking to talk.' },
  PTT_MEDIA_INVALID: { status: 400, message: 'The audio connection parameters are invalid.' },
  PTT_MEDIA_UNAVAILABLE: { status: 503, message: 'Push-to-talk audio is not available right now.' },
  PTT_RECORDING_NOT_FOUND: { status: 404, message: 'There is no such recording.' },
  PTT_EMERGENCY_NOT_FOUND: { status: 404, message: 'There is no such emergency call.' },
  CHAT_CONVERSATION_NOT_FOUND: { status: 404, message: 'There is no such conversation.' },
  CHAT_NOT_IN_GROUP: {
    status: 409,
    message: "This device is not in the conversation's encryption group yet.",
  },
  CHAT_EPOCH_CONFLICT: { status: 409, message: 'Another change to the group was accepted first.' },
  CHAT_EPOCH_STALE: {
    status: 409,
    message: 'The message was encrypted for an outdated group state.',
  },
  CHAT_DIRECT_EXISTS: { status: 409, message: 'A conversation with this person exists already.' },
  CHAT_KEY_PACKAGE_INVALID: { status: 400, message: 'A key package is not valid.' },
  CHAT_BLOB_TOO_LARGE: {
    status: 413,
    message: 'The attachment is larger than your organisation allows.',
  },
  CHAT_BLOB_NOT_FOUND: { status: 404, message: 'There is no such attachment.' },
  CHAT_MEMBERS_MANAGED: {
    status: 409,
    message: 'The members of this conversation follow a unit or an alarm.',
  },
  GEOFENCE_NOT_FOUND: { status: 404, message: 'There is no such geofence.' },
  GEOFENCE_NAME_TAKEN: { status: 409, message: 'A geofence with this name exists already.' },
  GEOFENCE_GEOMETRY_INVALID: { status: 400, message: 'The geofence shape is invalid.' },
  GEOFENCE_LIMIT_REACHED: {
    status: 409,
    message: 'The organisation has the most geofences allowed.',
  },
  OVERLAY_NOT_FOUND: { status: 404, message: 'There is no such overlay layer.' },
  OVERLAY_NAME_TAKEN: { status: 409, message: 'An overlay layer with this name exists already.' },
  OVERLAY_INVALID: { status: 400, message: 'The file is not a usable GeoJSON FeatureCollection.' },
  OVERLAY_TOO_LARGE: { status: 413, message: 'The overlay layer is too large.' },
  OVERLAY_LIMIT_REACHED: {
    status: 409,
    message: 'The organisation has the most overlay layers allowed.',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

/** Body of every error response and failed socket acknowledgement. */
export interface ApiErrorBody {
  code: ErrorCode;
  message: string;
  statusCode: number;
  /** Extra, code-specific data (e.g. the devices to sign out for DEVICE_LIMIT_REACHED). */
  details?: unknown;
}
