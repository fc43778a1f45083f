import { Type, type Static } from 'typebox';
import { CHAT_CONVERSATION_KINDS, ROLES } from '@trupp/shared';
import { AuditRecord } from '../audit/schemas.ts';

const Iso = Type.String({ format: 'date-time' });
const NullableIso = Type.Union([Iso, Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);
const NamedRef = Type.Object({ id: Type.String(), name: Type.String() });

export const CATEGORY_KEYS = [
  'profile',
  'account',
  'second_factors',
  'devices',
  'connections',
  'audit',
  'alarms',
  'availability',
  'positions',
  'ptt',
  'chat',
] as const;
export type CategoryKey = (typeof CATEGORY_KEYS)[number];

export const PrivacyCategory = Type.Object({
  key: Type.Enum(CATEGORY_KEYS),
  /** What is stored in this category (keys the webapp translates). */
  fields: Type.Array(Type.String()),
  /** Days records are kept; null: as long as the account exists (or see retentionHours). */
  retention: Type.Union([Type.Integer(), Type.Null()]),
  /** Hours records are kept, for short-lived data (position tracks). */
  retentionHours: Type.Optional(Type.Integer()),
  /** Roles that can see it, besides the user themself. */
  visibleTo: Type.Array(Type.Enum(ROLES)),
});
export type PrivacyCategory = Static<typeof PrivacyCategory>;

export const PrivacyInfo = Type.Object({
  tenantName: Type.String(),
  retention: Type.Object({
    connectionDays: Type.Integer(),
    auditDays: Type.Integer(),
    inactiveDeviceDays: Type.Integer(),
    alarmDays: Type.Integer(),
    trackHours: Type.Integer(),
    recordingDays: Type.Integer(),
    /** Days chat messages and attachments stay on the server (and on devices). */
    chatDays: Type.Integer(),
  }),
  categories: Type.Array(PrivacyCategory),
});
export type PrivacyInfo = Static<typeof PrivacyInfo>;

/** Everything Trupp stores about the caller — no secrets (hashes, keys) themselves. */
export const DataExport = Type.Object({
  exportedAt: Iso,
  account: Type.Object({
    id: Type.String(),
    tenantId: Type.String(),
    tenantName: Type.String(),
    email: Type.String(),
    displayName: Type.String(),
    role: Type.Enum(ROLES),
    isSuperadmin: Type.Boolean(),
    active: Type.Boolean(),
    locale: NullableString,
    hasPassword: Type.Boolean(),
    totpEnabledAt: NullableIso,
    lastLoginAt: NullableIso,
    createdAt: Iso,
    updatedAt: Iso,
  }),
  units: Type.Array(NamedRef),
  qualifications: Type.Array(NamedRef),
  devices: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      userAgent: Type.String(),
      createdAt: Iso,
      lastSeenAt: Iso,
      lastIp: Type.String(),
      revokedAt: NullableIso,
      revokeReason: NullableString,
      wipeRequested: Type.Boolean(),
      wipeConfirmedAt: NullableIso,
    }),
  ),
  passkeys: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      createdAt: Iso,
      lastUsedAt: NullableIso,
      transports: Type.Array(Type.String()),
      backedUp: Type.Boolean(),
    }),
  ),
  recoveryCodes: Type.Array(Type.Object({ createdAt: Iso, usedAt: NullableIso })),
  /** Records where the user acted or was acted on; another actor's address is left out. */
  auditRecords: Type.Array(AuditRecord),
  connections: Type.Array(
    Type.Object({
      id: Type.Integer(),
      deviceId: Type.String(),
      ip: Type.String(),
      userAgent: Type.String(),
      connectedAt: Iso,
      disconnectedAt: NullableIso,
      disconnectReason: NullableString,
    }),
  ),
  /** Alarms the user was alerted for, with their answers. */
  alarms: Type.Array(
    Type.Object({
      alarmId: Type.String(),
      keyword: Type.String(),
      createdAt: Iso,
      sentAt: Iso,
      deliveredAt: NullableIso,
      readAt: NullableIso,
      response: NullableString,
      etaMinutes: Type.Union([Type.Integer(), Type.Null()]),
      respondedAt: NullableIso,
    }),
  ),
  availability: Type.Union([
    Type.Object({
      status: Type.String(),
      until: NullableIso,
      weeklyPlan: Type.Array(Type.Unknown()),
    }),
    Type.Null(),
  ]),
  /** Stored positions (only while sharing), newest last. */
  positions: Type.Array(
    Type.Object({
      lat: Type.Number(),
      lon: Type.Number(),
      accuracyM: Type.Integer(),
      recordedAt: Iso,
    }),
  ),
  /** Push-to-talk transmissions of the user's voice that were recorded (metadata; audio on request). */
  pttRecordings: Type.Array(
    Type.Object({
      id: Type.String(),
      channelId: Type.String(),
      channelName: Type.String(),
      startedAt: Iso,
      durationMs: Type.Integer(),
      bytes: Type.Integer(),
    }),
  ),
  /** Emergency calls the user raised. */
  pttEmergencies: Type.Array(
    Type.Object({
      id: Type.String(),
      channelId: Type.String(),
      channelName: Type.String(),
      raisedAt: Iso,
      lat: Type.Union([Type.Number(), Type.Null()]),
      lon: Type.Union([Type.Number(), Type.Null()]),
      accuracyM: Type.Union([Type.Integer(), Type.Null()]),
      acknowledgedAt: NullableIso,
    }),
  ),
  /**
   * Chat metadata: the conversations the user is in and the messages they sent. The
   * content is end-to-end encrypted and unreadable to the server, so none is included.
   */
  chat: Type.Object({
    conversations: Type.Array(
      Type.Object({
        id: Type.String(),
        kind: Type.Enum(CHAT_CONVERSATION_KINDS),
        title: NullableString,
        joinedAt: Iso,
      }),
    ),
    messagesSent: Type.Array(
      Type.Object({
        conversationId: Type.String(),
        seq: Type.Integer(),
        kind: Type.Enum(['application', 'commit']),
        /** Bytes of the encrypted message. */
        size: Type.Integer(),
        createdAt: Iso,
      }),
    ),
  }),
});
export type DataExport = Static<typeof DataExport>;
