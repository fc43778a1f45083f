/**
 * Shapes of the HTTP API as documented in docs/API.md. Times are ISO 8601 strings.
 */
import type { Permission, Role } from '@trupp/shared';

export interface Me {
  id: string;
  tenantId: string;
  tenantName: string;
  email: string;
  displayName: string;
  role: Role;
  isSuperadmin: boolean;
  locale: string | null;
  totpEnabled: boolean;
  passkeyCount: number;
  units: { id: string; name: string }[];
  qualifications: { id: string; name: string }[];
  permissions: Permission[];
}

export interface Session {
  accessToken: string;
  accessExpiresAt: string;
  refreshToken: string;
  refreshExpiresAt: string;
  deviceId: string;
  mfaEnrolmentRequired: boolean;
  user: Me;
}

export type MfaMethod = 'totp' | 'recovery' | 'passkey';

export type LoginResult =
  | { status: 'ok'; session: Session }
  | { status: 'mfa_required'; mfaToken: string; methods: MfaMethod[] };

export interface DeviceInfo {
  id: string;
  name: string;
  userAgent: string | null;
  createdAt: string;
  lastSeenAt: string | null;
  lastIp: string | null;
  current: boolean;
}

export interface AdminDeviceInfo extends DeviceInfo {
  userId: string;
  userDisplayName: string;
  revokedAt: string | null;
  revokeReason: string | null;
  wipeRequested: boolean;
  wipeConfirmedAt: string | null;
}

/** `details` of DEVICE_LIMIT_REACHED. */
export interface DeviceLimitDetails {
  devices: DeviceInfo[];
  limitToken: string;
}

export interface PasskeyOptions {
  challengeId: string;
  options: unknown;
}

export interface Passkey {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface TotpEnrolment {
  secret: string;
  otpauthUrl: string;
  qrSvg: string;
}

export interface Unit {
  id: string;
  parentId: string | null;
  name: string;
  kind: string;
}

export interface Qualification {
  id: string;
  name: string;
}

export interface UserSummary {
  id: string;
  displayName: string;
  role: Role;
  active: boolean;
  unitIds: string[];
  qualificationIds: string[];
}

export interface UserDetail extends UserSummary {
  email: string;
  totpEnabled: boolean;
  passkeyCount: number;
  lastLoginAt: string | null;
  createdAt: string;
  activeDeviceCount: number;
  invitePending: boolean;
}

export interface Tenant {
  id: string;
  name: string;
  slug: string;
  timezone: string;
  retentionConnectionDays: number;
  retentionAuditDays: number;
  retentionInactiveDeviceDays: number;
  retentionTrackHours: number;
  retentionAlarmDays: number;
  retentionRecordingDays: number;
  /** Days chat messages and attachments stay on the server; devices delete theirs too. */
  retentionChatDays: number;
  /** Largest encrypted chat attachment (MiB). */
  chatUploadMb: number;
  /** Members share their position while on duty (availability "available"). */
  positionShareOnDuty: boolean;
}

export interface TenantWithCount extends Tenant {
  userCount: number;
}

export interface AuditRecord {
  seq: number;
  at: string;
  actorUserId: string | null;
  actorDeviceId: string | null;
  actorIp: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown>;
}

export interface AuditVerifyResult {
  ok: boolean;
  checked: number;
  firstBrokenSeq: number | null;
  reason: string | null;
}

export interface ConnectionRecord {
  id: string;
  userId: string;
  userDisplayName: string | null;
  deviceId: string;
  deviceName: string | null;
  ip: string | null;
  userAgent: string | null;
  connectedAt: string;
  disconnectedAt: string | null;
  disconnectReason: string | null;
}

export interface Page<T, C> {
  items: T[];
  nextBefore: C | null;
}

export type LinkPurpose = 'invite' | 'setup' | 'password_reset';

export interface LinkInfo {
  purpose: LinkPurpose;
  email: string | null;
  displayName: string | null;
  tenantName: string | null;
}

export interface PrivacyInfo {
  tenantName: string;
  retention: {
    connectionDays: number;
    auditDays: number;
    inactiveDeviceDays: number;
    alarmDays: number;
    trackHours: number;
    recordingDays: number;
    chatDays: number;
  };
  categories: {
    key: string;
    fields: string[];
    retention: number | null;
    retentionHours?: number;
    visibleTo: Role[];
  }[];
}
