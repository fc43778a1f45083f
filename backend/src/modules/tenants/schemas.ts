import { Type, type Static } from 'typebox';

/** Short, URL-safe organisation name: lowercase letters, digits and inner dashes. */
export const Slug = Type.String({
  minLength: 2,
  maxLength: 64,
  pattern: '^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$',
});
export const TenantName = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
/** An IANA zone name such as Europe/Berlin; checked against the runtime's zone list too. */
export const Timezone = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_+/-]+$' });

/**
 * Retention bounds. Connection records and signed-in devices may be kept briefly (at
 * least a day); audit records at least 30 days so an incident can still be traced;
 * nothing longer than ten years.
 */
export const RETENTION_BOUNDS = {
  retentionConnectionDays: { minimum: 1, maximum: 3650 },
  retentionAuditDays: { minimum: 30, maximum: 3650 },
  retentionInactiveDeviceDays: { minimum: 1, maximum: 3650 },
  retentionTrackHours: { minimum: 1, maximum: 24 * 90 },
  retentionAlarmDays: { minimum: 7, maximum: 3650 },
  retentionRecordingDays: { minimum: 1, maximum: 3650 },
  retentionChatDays: { minimum: 1, maximum: 3650 },
} as const;

/**
 * Largest encrypted chat attachment (MiB). The upper bound is the largest upload body the
 * chat routes accept at all (`BLOB_BODY_LIMIT`); a higher setting could never take effect.
 */
export const CHAT_UPLOAD_MB_BOUNDS = { minimum: 1, maximum: 200 } as const;

export const Tenant = Type.Object({
  id: Type.String(),
  name: Type.String(),
  slug: Type.String(),
  timezone: Type.String(),
  retentionConnectionDays: Type.Integer(),
  retentionAuditDays: Type.Integer(),
  retentionInactiveDeviceDays: Type.Integer(),
  retentionTrackHours: Type.Integer(),
  retentionAlarmDays: Type.Integer(),
  /** Days push-to-talk recordings are kept. */
  retentionRecordingDays: Type.Integer(),
  /** Days chat messages and attachments stay on the server (devices delete theirs too). */
  retentionChatDays: Type.Integer(),
  /** Largest encrypted chat attachment (MiB). */
  chatUploadMb: Type.Integer(),
  /** Members share their position while on duty (availability "available"). */
  positionShareOnDuty: Type.Boolean(),
});
export type Tenant = Static<typeof Tenant>;

export const TenantWithCount = Type.Object({
  id: Type.String(),
  name: Type.String(),
  slug: Type.String(),
  timezone: Type.String(),
  retentionConnectionDays: Type.Integer(),
  retentionAuditDays: Type.Integer(),
  retentionInactiveDeviceDays: Type.Integer(),
  retentionTrackHours: Type.Integer(),
  retentionAlarmDays: Type.Integer(),
  /** Days push-to-talk recordings are kept. */
  retentionRecordingDays: Type.Integer(),
  /** Days chat messages and attachments stay on the server (devices delete theirs too). */
  retentionChatDays: Type.Integer(),
  /** Largest encrypted chat attachment (MiB). */
  chatUploadMb: Type.Integer(),
  positionShareOnDuty: Type.Boolean(),
  userCount: Type.Integer(),
});
export type TenantWithCount = Static<typeof TenantWithCount>;

export const TenantPatchBody = Type.Object(
  {
    name: Type.Optional(TenantName),
    timezone: Type.Optional(Timezone),
    retentionConnectionDays: Type.Optional(Type.Integer(RETENTION_BOUNDS.retentionConnectionDays)),
    retentionAuditDays: Type.Optional(Type.Integer(RETENTION_BOUNDS.retentionAuditDays)),
    retentionInactiveDeviceDays: Type.Optional(
      Type.Integer(RETENTION_BOUNDS.retentionInactiveDeviceDays),
    ),
    retentionTrackHours: Type.Optional(Type.Integer(RETENTION_BOUNDS.retentionTrackHours)),
    retentionAlarmDays: Type.Optional(Type.Integer(RETENTION_BOUNDS.retentionAlarmDays)),
    retentionRecordingDays: Type.Optional(Type.Integer(RETENTION_BOUNDS.retentionRecordingDays)),
    retentionChatDays: Type.Optional(Type.Integer(RETENTION_BOUNDS.retentionChatDays)),
    chatUploadMb: Type.Optional(Type.Integer(CHAT_UPLOAD_MB_BOUNDS)),
    positionShareOnDuty: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type TenantPatchBody = Static<typeof TenantPatchBody>;

export const TenantCreateBody = Type.Object(
  {
    name: TenantName,
    slug: Slug,
    adminEmail: Type.String({ format: 'email', maxLength: 254 }),
    adminDisplayName: Type.String({ minLength: 1, maxLength: 120, pattern: '\\S' }),
  },
  { additionalProperties: false },
);
export type TenantCreateBody = Static<typeof TenantCreateBody>;

export const TenantCreated = Type.Object({ tenant: Tenant, inviteUrl: Type.String() });
